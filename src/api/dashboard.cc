// GET / and GET /dashboard/{file}: the dashboard's static files, from the
// binary (embedded_files.h). See admin_api.h for the contract.

#include <string>

#include "api/admin_api.h"
#include "api/embedded_files.h"
#include "exec/http_json.h"

namespace mergeyard::api {

using exec::SendError;
namespace {

// No inline script or style, no third-party origin: the page talks only to this server.
constexpr char kCsp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void Serve(const EmbeddedFile& file, const httplib::Request& req, httplib::Response& res) {
  res.set_header("ETag", std::string(file.etag));
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  if (file.name == "index.html") {
    res.set_header("Content-Security-Policy", kCsp);
    res.set_header("X-Frame-Options", "DENY");
  }
  if (req.get_header_value("If-None-Match") == file.etag) {
    res.status = 304;
    return;
  }
  res.set_content(std::string(file.bytes), std::string(file.content_type));
}

}  // namespace

void MountDashboard(httplib::Server& server) {
  server.Get("/", [](const httplib::Request& req, httplib::Response& res) {
    const EmbeddedFile* index = FindEmbeddedFile("index.html");
    if (!index) return SendError(res, 500, "internal", "the dashboard is not built into this binary");
    Serve(*index, req, res);
  });
  server.Get(R"(/dashboard/([A-Za-z0-9_.-]+))", [](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    const EmbeddedFile* file = FindEmbeddedFile(name);
    if (!file || name == "openapi.json")
      return SendError(res, 404, "not_found", "no dashboard file " + name);
    Serve(*file, req, res);
  });
}

}  // namespace mergeyard::api
