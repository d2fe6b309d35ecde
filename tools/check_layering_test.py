#!/usr/bin/env python3
"""Self-test of check_layering.py: fake source trees in a temp dir, each
proving that a kind of violation is caught (naming file:line) or that a
legal tree passes."""

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_layering  # noqa: E402

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_layering.py")


def run(tree):
    """Writes {relative path: text} under a temp root; returns (exit code, output)."""
    with tempfile.TemporaryDirectory() as root:
        for rel, text in tree.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = check_layering.main(["--root", root])
        return code, out.getvalue()


LEGAL = {
    "src/base/result.h": "#pragma once\n#include <string>\n",
    "src/base/log.cc": "#include <mutex>\n#include <ctime>\nlong T() { return time(nullptr); }\n",
    "src/base/clock.cc": "#include <chrono>\nauto n = std::chrono::system_clock::now();\n",
    "src/bisect/split.h": '#include "base/result.h"\n',
    "src/queue/step.cc": ('#include "bisect/split.h"\n#include "base/result.h"\n'
                          "// system_clock::now() in a comment is fine\n"
                          'const char* s = "time(";\nint x = 1\'000\'000;\n'
                          "int f(Time now) { return now; }\n"),
    "src/exec/core/scheduler.h": '#include "base/result.h"\n',
    "src/engine/engine.cc": '#include "queue/step.h"\n#include <thread>\n',
    "src/store/db.cc": '#include "engine/ports.h"\n#include <SQLiteCpp/SQLiteCpp.h>\n#include <mutex>\n',
    "src/exec/pool.cc": '#include "exec/core/scheduler.h"\n#include "engine/ports.h"\n',
    "src/webhook/listener.cc": '#include "forge/github/events.h"\n#include "store/db.h"\n',
    "src/api/server.cc": '#include "exec/pool.h"\n#include "store/db.h"\n#include "forge/x.h"\n',
    "src/sim/simulator.cc": '#include "engine/engine.h"\n#include "exec/core/scheduler.h"\n',
    "src/app/main.cc": '#include "git/repo.h"\n#include "sim/simulator.h"\n#include "store/db.h"\n',
}


class CheckLayeringTest(unittest.TestCase):
    def assertViolation(self, extra, where, words):
        tree = dict(LEGAL)
        tree.update(extra)
        code, out = run(tree)
        self.assertEqual(code, 1, out)
        self.assertIn(where, out)
        for w in words:
            self.assertIn(w, out)

    def test_a_legal_tree_passes(self):
        code, out = run(LEGAL)
        self.assertEqual(code, 0, out)
        self.assertIn("ok", out)

    def test_an_upward_include_is_caught(self):
        self.assertViolation({"src/queue/bad.cc": '#include "base/result.h"\n#include "engine/engine.h"\n'},
                             "src/queue/bad.cc:2:", ["queue may not include engine"])

    def test_adapters_do_not_include_each_other(self):
        self.assertViolation({"src/git/push.cc": '\n\n#include "forge/client.h"\n'},
                             "src/git/push.cc:3:", ["git may not include forge"])
        self.assertViolation({"src/store/x.cc": '#include "exec/pool.h"\n'},
                             "src/store/x.cc:1:", ["store may not include exec"])

    def test_lateral_includes_only_where_allowed(self):
        self.assertViolation({"src/bisect/b.cc": '#include "queue/types.h"\n'},
                             "src/bisect/b.cc:1:", ["bisect may not include queue"])
        self.assertViolation({"src/exec/core/q.cc": '#include "queue/types.h"\n'},
                             "src/exec/core/q.cc:1:", ["exec/core may not include queue"])
        self.assertViolation({"src/exec/core/e.cc": '#include "exec/pool.h"\n'},
                             "src/exec/core/e.cc:1:", ["exec/core may not include exec"])
        self.assertViolation({"src/api/a.cc": '#include "webhook/listener.h"\n'},
                             "src/api/a.cc:1:", ["api may not include webhook"])

    def test_top_layer_adapters_are_restricted(self):
        self.assertViolation({"src/webhook/w.cc": '#include "git/repo.h"\n'},
                             "src/webhook/w.cc:1:", ["webhook may not include git"])
        self.assertViolation({"src/api/g.cc": '#include "git/repo.h"\n'},
                             "src/api/g.cc:1:", ["api may not include git"])
        self.assertViolation({"src/sim/s.cc": '#include "store/db.h"\n'},
                             "src/sim/s.cc:1:", ["sim may not include store"])

    def test_pure_modules_include_no_io_or_threads(self):
        self.assertViolation({"src/queue/t.cc": "#include <thread>\n"},
                             "src/queue/t.cc:1:", ["queue is pure", "<thread>"])
        self.assertViolation({"src/bisect/g.cc": "#include <git2.h>\n"},
                             "src/bisect/g.cc:1:", ["libgit2"])
        self.assertViolation({"src/exec/core/s.cc": "#include <SQLiteCpp/Database.h>\n"},
                             "src/exec/core/s.cc:1:", ["SQLiteCpp"])
        self.assertViolation({"src/queue/h.cc": "#include <httplib.h>\n"},
                             "src/queue/h.cc:1:", ["cpp-httplib"])
        self.assertViolation({"src/base/ids.cc": "#include <mutex>\n"},
                             "src/base/ids.cc:1:", ["base is pure", "<mutex>"])

    def test_pure_modules_do_not_read_the_clock(self):
        cases = {
            "std::chrono::steady_clock::time_point t;": "steady_clock",
            "auto t = Clock::now();": "::now(",
            "long t = time(nullptr);": "time(",
            "gettimeofday(&tv, nullptr);": "gettimeofday",
            "clock_gettime(CLOCK_MONOTONIC, &ts);": "clock_gettime",
        }
        for code, word in cases.items():
            with self.subTest(code=code):
                self.assertViolation({"src/queue/c.cc": "int a;\n" + code + "\n"},
                                     "src/queue/c.cc:2:", ["may not read the clock", word])
        self.assertViolation({"src/base/duration.cc": "auto t = std::chrono::system_clock::now();\n"},
                             "src/base/duration.cc:1:", ["system_clock"])

    def test_adapters_may_read_the_clock_and_use_threads(self):
        tree = dict(LEGAL)
        tree["src/exec/runner.cc"] = "#include <thread>\nauto t = std::chrono::steady_clock::now();\n"
        code, out = run(tree)
        self.assertEqual(code, 0, out)

    def test_relative_and_internal_includes_are_caught(self):
        self.assertViolation({"src/store/r.cc": '#include "../git/repo.h"\n'},
                             "src/store/r.cc:1:", ["not rooted at src/"])
        self.assertViolation({"src/app/i.cc": '#include "queue/step_internal.h"\n'},
                             "src/app/i.cc:1:", ["internal to queue"])

    def test_the_command_exits_1_and_names_file_and_line(self):
        with tempfile.TemporaryDirectory() as root:
            path = os.path.join(root, "src", "queue")
            os.makedirs(path)
            with open(os.path.join(path, "x.cc"), "w", encoding="utf-8") as f:
                f.write('#include "base/result.h"\n#include "store/db.h"\n')
            p = subprocess.run([sys.executable, CHECKER, "--root", root],
                               capture_output=True, text=True, check=False)
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertIn("src/queue/x.cc:2: queue may not include store", p.stdout)

    def test_commented_out_includes_are_ignored(self):
        tree = dict(LEGAL)
        tree["src/queue/c.cc"] = '// #include "engine/engine.h"\n/* #include <thread> */\n'
        code, out = run(tree)
        self.assertEqual(code, 0, out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
