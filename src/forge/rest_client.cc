#include "forge/rest_client.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "base/log.h"

namespace mergeyard::forge {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::int64_t ToInt(const std::string& s, std::int64_t fallback) {
  if (s.empty()) return fallback;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  return (end && *end == '\0') ? v : fallback;
}

// A limit answer, to be retried after the forge's own delay.
bool RateLimited(const HttpResponse& r) {
  return r.status == 429 ||
         (r.status == 403 && (r.Header("x-ratelimit-remaining") == "0" || !r.Header("retry-after").empty() ||
                              Lower(r.body).find("secondary rate limit") != std::string::npos));
}

// The answer's Retry-After (delay seconds or an HTTP date) as a delay.
std::optional<Duration> RetryAfter(const HttpResponse& r, Time now) {
  const std::string v = r.Header("retry-after");
  if (v.empty()) return std::nullopt;
  const std::int64_t seconds = ToInt(v, -1);
  if (seconds >= 0) return seconds * kSecond;
  struct tm tm {};
  const char* end = strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (end == nullptr) return std::nullopt;
  return std::max<Duration>(0, static_cast<Time>(timegm(&tm)) * 1000 - now);
}

// A reset header as an instant: Unix seconds (GitHub, GitLab, Gitea), or
// seconds from now where it is too small to be a date (the IETF draft).
std::optional<Time> ResetAt(const std::string& v, Time now) {
  const std::int64_t n = ToInt(v, -1);
  if (n <= 0) return std::nullopt;
  return n < 1'000'000'000 ? now + n * kSecond : n * 1000;
}

std::size_t CredentialKey(const HeaderList& auth) {
  std::string all;
  for (const auto& [k, v] : auth) all += k + ":" + v + "\n";
  return all.empty() ? 0 : std::hash<std::string>{}(all);
}

constexpr Duration kWarnWait = 3 * kSecond;

std::string StatusClass(int status) {
  if (status < 100 || status > 599) return "error";
  return std::to_string(status / 100) + "xx";
}

void SplitBase(const std::string& base, std::string* origin, std::string* prefix) {
  const size_t scheme = base.find("://");
  const size_t path = base.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  *origin = path == std::string::npos ? base : base.substr(0, path);
  *prefix = path == std::string::npos ? "" : base.substr(path);
  while (!prefix->empty() && prefix->back() == '/') prefix->pop_back();
}

}  // namespace

std::optional<RateLimit> RateLimitOf(const HttpResponse& r, Time now) {
  std::string remaining = r.Header("x-ratelimit-remaining");
  std::string reset = r.Header("x-ratelimit-reset");
  if (remaining.empty()) {
    remaining = r.Header("ratelimit-remaining");
    reset = r.Header("ratelimit-reset");
  }
  const bool limited = RateLimited(r);
  const bool spent = remaining == "0";
  if (!limited && !spent) return std::nullopt;
  RateLimit l;
  l.kind = spent ? "primary" : "secondary";
  if (auto after = limited ? RetryAfter(r, now) : std::nullopt) {
    l.until = now + *after;
  } else if (auto at = spent ? ResetAt(reset, now) : std::nullopt) {
    l.until = std::max(*at, now);
  } else {
    l.until = now + kMinute;  // GitHub: "wait for at least one minute"
  }
  return l;
}

std::string HttpResponse::Header(const std::string& name) const {
  const auto it = headers.find(Lower(name));
  return it == headers.end() ? "" : it->second;
}

nlohmann::json HttpResponse::Json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

RestClient::RestClient(RestOptions options, AuthProvider* auth, const Clock& clock, Sleeper sleep)
    : options_(std::move(options)), auth_(auth), clock_(clock), sleep_(std::move(sleep)) {
  SplitBase(options_.base_url, &origin_, &prefix_);
  metrics::Registry& m = options_.metrics ? *options_.metrics : metrics::Default();
  const std::string& forge = options_.forge;
  requests_metric_ = &m.Counters("mergeyard_forge_requests_total",
                                 "HTTP requests sent to forge APIs (retries included), by method and status class.",
                                 {"forge", "method", "status"});
  duration_metric_ = &m.Histograms("mergeyard_forge_request_duration_seconds",
                                   "Time for one forge API request to be answered.", {"forge"},
                                   {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})
                          .With({forge});
  retries_metric_ = &m.Counters("mergeyard_forge_retries_total",
                                "Forge API requests retried, by reason.", {"forge", "reason"});
  rate_limit_waits_metric_ = &m.Counters("mergeyard_forge_rate_limit_waits_total",
                                         "Waits forced by a forge's rate limit, by kind (primary: quota spent; "
                                         "secondary: abuse or content-creation limit).",
                                         {"forge", "kind"});
  rate_limit_seconds_metric_ = &m.Counters("mergeyard_forge_rate_limit_wait_seconds_total",
                                           "Time spent waiting for a forge's rate limit, by kind.", {"forge", "kind"});
  rate_limit_rejections_metric_ =
      &m.Counters("mergeyard_forge_rate_limit_rejections_total",
                  "Forge API requests given up because the rate limit outlasts max_wait.", {"forge"})
           .With({forge});
  if (!sleep_) {
    sleep_ = [](Duration d) { std::this_thread::sleep_for(std::chrono::milliseconds(d)); };
  }
}

std::int64_t RestClient::requests_sent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sent_;
}

void RestClient::CountExchange(const std::string& method, int status, Duration took) {
  requests_metric_->With({options_.forge, method, StatusClass(status)}).Inc();
  duration_metric_->Observe(static_cast<double>(std::max<Duration>(took, 0)) / kSecond);
}

void RestClient::CountRateLimitWait(const std::string& kind, Duration wait, const std::string& path) {
  rate_limit_waits_metric_->With({options_.forge, kind}).Inc();
  rate_limit_seconds_metric_->With({options_.forge, kind}).Inc(static_cast<double>(wait) / kSecond);
  const LogFields fields = {{"forge", options_.forge}, {"kind", kind},
                            {"wait", FormatDuration(wait)}, {"path", path}};
  if (wait >= kWarnWait) LOG_WARN("waiting for the forge's rate limit", fields);
  else LOG_DEBUG("waiting for the forge's rate limit", fields);
}

Result<HttpResponse> RestClient::SendOnce(const std::string& method, const std::string& path,
                                          const HeaderList& headers, const std::string& body) {
  std::string target = path;
  if (target.rfind(origin_, 0) == 0) target = target.substr(origin_.size());  // absolute link
  else if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) {
    return Invalid("refusing to follow a link to another host");
  } else target = prefix_ + target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++sent_;
  }
  const Time started = clock_.Now();
  try {
    httplib::Client cli(origin_);
    cli.set_connection_timeout(std::chrono::milliseconds(options_.connect_timeout));
    cli.set_read_timeout(std::chrono::milliseconds(options_.read_timeout));
    cli.set_write_timeout(std::chrono::milliseconds(options_.read_timeout));
    cli.set_tcp_nodelay(true);
    httplib::Headers h;
    for (const auto& [k, v] : options_.default_headers) h.emplace(k, v);
    for (const auto& [k, v] : headers) h.emplace(k, v);
    h.emplace("User-Agent", options_.user_agent);
    httplib::Request req;
    req.method = method;
    req.path = target;
    req.headers = std::move(h);
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      req.body = body;
      req.set_header("Content-Type", "application/json");
    }
    auto res = cli.send(req);
    CountExchange(method, res ? res->status : 0, clock_.Now() - started);
    if (!res) return Transient(method + " " + path + ": " + httplib::to_string(res.error()));
    HttpResponse out;
    out.status = res->status;
    out.body = res->body;
    for (const auto& [k, v] : res->headers) out.headers[Lower(k)] = v;
    return out;
  } catch (const std::exception& e) {
    CountExchange(method, 0, clock_.Now() - started);
    return Transient(method + " " + path + ": " + e.what());
  }
}

Duration RestClient::Backoff(int attempt) {
  const Duration cap = std::min<Duration>(options_.max_backoff,
                                          options_.initial_backoff << std::min(attempt, 20));
  std::lock_guard<std::mutex> lock(mu_);
  std::uniform_int_distribution<Duration> jitter(cap / 2, std::max<Duration>(cap, 1));
  return jitter(rng_);
}

RateLimit RestClient::BlockOf(std::size_t key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = blocks_.find(key);
  if (it == blocks_.end()) return {};
  if (it->second.until <= clock_.Now()) {
    blocks_.erase(it);
    return {};
  }
  return it->second;
}

void RestClient::Block(std::size_t key, const RateLimit& limit) {
  std::lock_guard<std::mutex> lock(mu_);
  blocks_[key] = limit;  // the newest answer knows best
}

Result<HttpResponse> RestClient::Send(const std::string& method, const std::string& path,
                                      const std::string& repo, const std::string& json_body,
                                      const HeaderList& extra) {
  Error last = Transient(method + " " + path + ": not sent");
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    HeaderList headers = extra;
    std::size_t key = 0;
    if (auth_) {
      auto auth = auth_->Headers(repo);
      if (!auth.ok()) return auth.error();
      key = CredentialKey(*auth);
      headers.insert(headers.end(), auth->begin(), auth->end());
    }
    const RateLimit block = BlockOf(key);
    const Duration wait = block.until - clock_.Now();
    if (wait > options_.max_wait) {
      rate_limit_rejections_metric_->Inc();
      return Transient(options_.forge + " rate limit (" + block.kind + ") for another " +
                       std::to_string(wait / 1000) + "s");
    }
    if (wait > 0) {
      CountRateLimitWait(block.kind, wait, path);
      sleep_(wait);
    }
    auto res = SendOnce(method, path, headers, json_body);
    Duration delay;
    const char* reason = "transport";
    if (!res.ok()) {
      if (res.error().code != ErrorCode::kTransient) return res.error();
      last = res.error();
      delay = Backoff(attempt);
    } else {
      if (auto limit = RateLimitOf(*res, clock_.Now())) Block(key, *limit);
      const bool limited = RateLimited(*res);
      if (!limited && res->status < 500) return res;
      last = Transient(method + " " + path + ": HTTP " + std::to_string(res->status));
      reason = limited ? "rate_limited" : "server_error";
      // A limit's wait happens before the next attempt (the block above).
      delay = limited ? 0 : RetryAfter(*res, clock_.Now()).value_or(Backoff(attempt));
    }
    if (attempt + 1 >= options_.max_attempts) break;
    if (delay > options_.max_wait) return Transient(last.message + "; retry in " + std::to_string(delay / 1000) + "s");
    LOG_DEBUG("forge request retried", {{"path", path}, {"error", last.message},
                                        {"delay_ms", std::to_string(delay)}});
    retries_metric_->With({options_.forge, reason}).Inc();
    if (delay > 0) sleep_(delay);
  }
  return last;
}

Result<nlohmann::json> RestClient::GetAllPages(const std::string& path, const std::string& repo,
                                               int max_pages, const std::string& list_field) {
  nlohmann::json all = nlohmann::json::array();
  std::string next = path;
  for (int page = 0; !next.empty() && page < max_pages; ++page) {
    auto res = Send("GET", next, repo);
    if (!res.ok()) return res.error();
    if (auto st = StatusToError(*res, "GET " + path); !st.ok()) return st.error();
    nlohmann::json j = res->Json();
    if (!list_field.empty()) {
      if (!j.is_object() || !j.contains(list_field)) j = nullptr;
      else j = std::move(j[list_field]);
    }
    if (!j.is_array()) {
      return Invalid("GET " + path + ": expected " +
                     (list_field.empty() ? std::string("a JSON array") : "`" + list_field + "` to be a list"));
    }
    for (auto& item : j) all.push_back(std::move(item));
    next = NextLink(res->Header("link"));
  }
  return all;
}

Status StatusToError(const HttpResponse& r, const std::string& what) {
  if (r.status >= 200 && r.status < 300) return Ok();
  std::string message = what + ": HTTP " + std::to_string(r.status);
  const nlohmann::json j = r.Json();
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    message += " (" + j["message"].get<std::string>() + ")";
  }
  switch (r.status) {
    case 401: return Unauthorized(message);
    case 403: return Forbidden(message);
    case 404: return NotFound(message);
    case 405: case 409: case 422: return Conflict(message);
    default: break;
  }
  if (r.status >= 500 || r.status == 429) return Transient(message);
  return Invalid(message);
}

Result<nlohmann::json> JsonResult(Result<HttpResponse> response, const std::string& what) {
  if (!response.ok()) return response.error();
  if (auto st = StatusToError(*response, what); !st.ok()) return st.error();
  if (response->body.empty()) return nlohmann::json();
  nlohmann::json j = response->Json();
  if (j.is_discarded()) return Invalid(what + ": the answer is not JSON");
  return j;
}

std::string NextLink(const std::string& link) {
  size_t pos = 0;
  while (pos < link.size()) {
    const size_t open = link.find('<', pos);
    if (open == std::string::npos) break;
    const size_t close = link.find('>', open);
    if (close == std::string::npos) break;
    const size_t end = link.find(',', close);
    const std::string params = link.substr(close + 1, end == std::string::npos ? std::string::npos : end - close - 1);
    if (params.find("rel=\"next\"") != std::string::npos || params.find("rel=next") != std::string::npos) {
      return link.substr(open + 1, close - open - 1);
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return "";
}

std::string UrlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

}  // namespace mergeyard::forge
