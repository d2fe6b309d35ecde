#include "engine/report_journal.h"

#include "engine/codec.h"

namespace mergeyard::engine {

const char* ReportJobKindName(ReportJob::Kind kind) {
  switch (kind) {
    case ReportJob::Kind::kReport: return "report";
    case ReportJob::Kind::kStatusComment: return "status_comment";
    case ReportJob::Kind::kReply: return "reply";
  }
  return "report";
}

nlohmann::json ReportJobToJson(const ReportJob& job) {
  nlohmann::json j;
  j["kind"] = ReportJobKindName(job.kind);
  j["at"] = job.at;
  if (job.kind == ReportJob::Kind::kReport) {
    j["repo"] = job.key.repo;
    j["branch"] = job.key.branch;
    j["report"] = EffectToJson(queue::Effect{job.report});
  } else {
    j["repo"] = job.repo;
    j["pr"] = job.pr;
    j["text"] = job.text;
  }
  return j;
}

namespace {

Result<std::string> StringField(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return Invalid(std::string("report job: ") + name + " must be a string");
  return it->get<std::string>();
}

}  // namespace

Result<ReportJob> ReportJobFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Invalid("report job: not a JSON object");
  auto kind = StringField(j, "kind");
  if (!kind) return kind.error();
  auto repo = StringField(j, "repo");
  if (!repo) return repo.error();
  ReportJob job;
  if (auto at = j.find("at"); at != j.end()) {
    if (!at->is_number_integer()) return Invalid("report job: at must be an integer");
    job.at = at->get<Time>();
  }
  if (*kind == "report") {
    job.kind = ReportJob::Kind::kReport;
    auto branch = StringField(j, "branch");
    if (!branch) return branch.error();
    job.key = {*repo, *branch};
    if (!j.contains("report")) return Invalid("report job: report is missing");
    auto effect = EffectFromJson(j["report"]);
    if (!effect) return Invalid("report job: " + effect.error().message);
    const auto* report = std::get_if<queue::Report>(&*effect);
    if (!report) return Invalid("report job: report is not a report effect");
    job.report = *report;
    return job;
  }
  if (*kind == "status_comment") job.kind = ReportJob::Kind::kStatusComment;
  else if (*kind == "reply") job.kind = ReportJob::Kind::kReply;
  else return Invalid("report job: unknown kind " + *kind);
  auto pr = j.find("pr");
  if (pr == j.end() || !pr->is_number_integer()) return Invalid("report job: pr must be an integer");
  auto text = StringField(j, "text");
  if (!text) return text.error();
  job.repo = *repo;
  job.pr = pr->get<std::int64_t>();
  job.text = *text;
  return job;
}

}  // namespace mergeyard::engine
