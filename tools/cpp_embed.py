"""Shared by the tools/embed_*.py generators: C++ string literals holding
exact bytes, and writing the generated file atomically."""

import os


def c_bytes(data, indent="      "):
    """A C++ string literal (split into lines) holding exactly `data` (bytes)."""
    lines, buf = [], []
    for byte in data:
        ch = chr(byte)
        if ch == "\\":
            buf.append("\\\\")
        elif ch == '"':
            buf.append('\\"')
        elif ch == "\n":
            buf.append("\\n")
            lines.append('"' + "".join(buf) + '"')
            buf = []
            continue
        elif 32 <= byte < 127 and ch != "?":
            buf.append(ch)
        else:
            buf.append("\\%03o" % byte)  # always 3 digits: never swallows what follows
    if buf or not lines:
        lines.append('"' + "".join(buf) + '"')
    return ("\n" + indent).join(lines)


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
