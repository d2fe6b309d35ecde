#pragma once
// A small JSON-over-HTTP(S) client for forge REST APIs: authentication
// headers, retries of 5xx, timeouts and dropped connections with exponential
// backoff and jitter, rate limits (`retry-after`, `x-ratelimit-*`,
// `ratelimit-*`, GitHub secondary limits) and `Link: rel="next"` pagination.
// Thread-safe: every request uses its own connection.
//
// Metrics (labelled with RestOptions::forge):
//   mergeyard_forge_requests_total{forge,method,status}  every HTTP exchange, retries
//       included; status "2xx".."5xx", or "error" when no answer came
//   mergeyard_forge_request_duration_seconds{forge}      one per exchange
//   mergeyard_forge_retries_total{forge,reason}          reason: rate_limited,
//       server_error, transport
//   mergeyard_forge_rate_limit_waits_total{forge,kind}, ..._wait_seconds_total{forge,kind}
//       sleeps forced by a rate limit, and their length; kind "primary" (the
//       quota is spent) or "secondary" (abuse and content-creation limits)
//   mergeyard_forge_rate_limit_rejections_total{forge}   requests failed because
//       the rate limit would last longer than max_wait
//
// Rate limits, as GitHub, GitLab and Gitea document them: an answer's
// `Retry-After` decides how long to wait; otherwise, when the quota is spent
// (`x-ratelimit-remaining` or `ratelimit-remaining` 0), its reset header;
// a minute only when neither is there. The wait holds back every request
// made with the same credentials (one GitHub App installation, one token),
// not others. Waits of 3 s or more are logged at warn.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/metrics.h"
#include "base/result.h"

namespace mergeyard::forge {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lowercased
  // The header's value, "" when absent. `name` in any case.
  std::string Header(const std::string& name) const;
  nlohmann::json Json() const;  // discarded value when the body is not JSON
};

// What an answer says about a forge's rate limit: send nothing more with
// the same credentials before `until`.
struct RateLimit {
  Time until = 0;
  std::string kind;  // "primary" or "secondary"
};
// nullopt when `r` neither is a rate-limit answer nor spends the quota.
std::optional<RateLimit> RateLimitOf(const HttpResponse& r, Time now);

// Supplies the authentication headers for a request about `repo` (GitHub
// Apps pick the installation by repository). Errors are passed to the caller.
class AuthProvider {
 public:
  virtual ~AuthProvider() = default;
  virtual Result<HeaderList> Headers(const std::string& repo) = 0;
};

// A fixed header, e.g. {"Authorization", "Bearer <token>"} or {"PRIVATE-TOKEN", "<token>"}.
class StaticAuth final : public AuthProvider {
 public:
  StaticAuth(std::string name, std::string value) : name_(std::move(name)), value_(std::move(value)) {}
  Result<HeaderList> Headers(const std::string&) override { return HeaderList{{name_, value_}}; }

 private:
  std::string name_;
  std::string value_;
};

struct RestOptions {
  std::string base_url;                // "https://api.github.com", "http://127.0.0.1:8080/api/v4"
  int max_attempts = 5;                // per request, including the first
  Duration initial_backoff = 500;      // doubled per attempt, with jitter
  Duration max_backoff = 30 * kSecond;
  Duration max_wait = 2 * kMinute;     // longest rate-limit wait accepted before failing kTransient
  Duration connect_timeout = 5 * kSecond;
  Duration read_timeout = 30 * kSecond;
  std::string user_agent = "mergeyard";
  HeaderList default_headers;          // e.g. Accept, X-GitHub-Api-Version
  std::string forge = "unknown";       // the metrics' forge label: "github", "gitlab", "gitea"
  metrics::Registry* metrics = nullptr;  // null: metrics::Default()
};

class RestClient {
 public:
  using Sleeper = std::function<void(Duration)>;
  // `auth` may be null (no authentication). `sleep` defaults to a real sleep.
  RestClient(RestOptions options, AuthProvider* auth, const Clock& clock, Sleeper sleep = {});

  // Sends one request and returns the final response: 2xx, 3xx or a 4xx that
  // is not a rate limit. `path` is relative to the base URL (query included)
  // or an absolute URL on the same host (pagination links).
  // Errors: kTransient after the last retry (5xx, 429, timeouts, drops) or
  // when a rate limit would make us wait longer than max_wait; the error of
  // the AuthProvider.
  Result<HttpResponse> Send(const std::string& method, const std::string& path,
                            const std::string& repo, const std::string& json_body = "",
                            const HeaderList& extra = {});

  // GETs `path` and every `rel="next"` page, concatenating the JSON arrays:
  // each page's body, or with `list_field` the array in that field of it
  // (GitHub's {"total_count", "check_runs": [...]} listings).
  // Errors: as Send; kNotFound / kForbidden / kInvalid for such answers.
  Result<nlohmann::json> GetAllPages(const std::string& path, const std::string& repo,
                                     int max_pages = 100, const std::string& list_field = "");

  // Requests actually sent (attempts included), for tests and metrics.
  std::int64_t requests_sent() const;

  const RestOptions& options() const { return options_; }

 private:
  Result<HttpResponse> SendOnce(const std::string& method, const std::string& path,
                                const HeaderList& headers, const std::string& body);
  Duration Backoff(int attempt);
  // The rate limit in force for credentials `key` (until 0: none).
  RateLimit BlockOf(std::size_t key);
  void Block(std::size_t key, const RateLimit& limit);
  void CountExchange(const std::string& method, int status, Duration took);
  void CountRateLimitWait(const std::string& kind, Duration wait, const std::string& path);

  RestOptions options_;
  std::string origin_;   // scheme://host[:port]
  std::string prefix_;   // path of the base URL, without trailing '/'
  AuthProvider* auth_;
  const Clock& clock_;
  Sleeper sleep_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::map<std::size_t, RateLimit> blocks_;  // by hash of the credentials' headers
  std::int64_t sent_ = 0;

  metrics::CounterFamily* requests_metric_;
  metrics::Histogram* duration_metric_;
  metrics::CounterFamily* retries_metric_;
  metrics::CounterFamily* rate_limit_waits_metric_;
  metrics::CounterFamily* rate_limit_seconds_metric_;
  metrics::Counter* rate_limit_rejections_metric_;
};

// Maps a final response status to an error (ok for 2xx): 401 kUnauthorized,
// 403 kForbidden, 404 kNotFound, 409/405/422 kConflict, others kInvalid/kTransient.
Status StatusToError(const HttpResponse& r, const std::string& what);

// The JSON body of a 2xx answer; otherwise the StatusToError of the answer,
// or the request's own error.
Result<nlohmann::json> JsonResult(Result<HttpResponse> response, const std::string& what);

// The URL in a Link header with rel="next", "" if none.
std::string NextLink(const std::string& link_header);

// Percent-encodes everything but unreserved characters (GitLab project paths, file paths).
std::string UrlEncode(const std::string& s);

}  // namespace mergeyard::forge
