#pragma once
// Files built into the binary: the dashboard (src/api/dashboard/*) and the
// OpenAPI document (src/api/openapi.json). The .cc is generated at build time
// by tools/embed_files.py (meson custom_target in src/api/meson.build), so
// the sources stay ordinary files that editors and linters understand.

#include <string_view>
#include <vector>

namespace mergeyard::api {

struct EmbeddedFile {
  std::string_view name;          // the file's base name: "index.html", "app.js", "openapi.json"
  std::string_view content_type;  // from its extension, e.g. "text/html; charset=utf-8"
  std::string_view bytes;
  std::string_view etag;          // quoted SHA-256 prefix of the bytes
};

// Every embedded file, sorted by name.
const std::vector<EmbeddedFile>& EmbeddedFiles();

inline const EmbeddedFile* FindEmbeddedFile(std::string_view name) {
  for (const auto& f : EmbeddedFiles())
    if (f.name == name) return &f;
  return nullptr;
}

}  // namespace mergeyard::api
