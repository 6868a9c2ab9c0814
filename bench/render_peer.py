#!/usr/bin/env python3
"""Peer of bench/render.sh: the stack templates rendered by PyPI Jinja2 with the same values.

    render_peer.py --context FILE [--seconds S] [--show-translation TEMPLATE]

FILE is written by `RenderBenchmark --dump-context`: for every output file of one stack, its path,
its template's name and the values that template sees (exactly what the Swift renderer builds),
with the bytes, SHA-256 and size the Swift renderer made of it, and the revision digest.

1. Each Mustache template under the context's template directory is translated to Jinja2 here,
   at benchmark time (`translate`): variables, sections (a `for` loop over a list, an `if` on a
   bool, a pushed scope for a dict, chosen by the value's type in the context), inverted sections,
   dotted names, `.`, comments and delimiter changes (`{{=<% %>=}}`); literal text that looks like
   Jinja syntax is wrapped in `{% raw %}`. Names are resolved against the context stack while
   translating, as Mustache resolves them while rendering.
2. Every output is rendered, normalized as `StackRenderer.normalized` does, and compared byte for
   byte with the Swift output, with its SHA-256 and the revision digest; any difference exits 2
   with a diff. Nothing is timed before all files are equal.
3. The full set is rendered again and again on this thread for --seconds (after a warm-up):
   render, normalize, UTF-8 encode, hashlib SHA-256 per file, sorted manifest, its SHA-256. The
   Swift side does the same, plus spec validation and building the context, which the peer gets
   ready-made. Prints `RESULT renders_per_s=... us_per_render=...`.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import keyword
import os
import re
import sys
import time

import jinja2


class Unsupported(Exception):
    """A construct whose exact Mustache meaning this translator does not reproduce."""


# --------------------------------------------------------------------------- Mustache parsing

# Tags that stand alone on a line take the line with them (the Mustache spec's "standalone" rule).
STANDALONE_KINDS = "#^/!=>%"


def parse(text: str, name: str) -> list:
    """A Mustache template as a tree: ("text", s), ("var", name), ("section", name, inverted, children)."""
    open_tag, close_tag = "{{", "}}"
    root: list = []
    stack: list[tuple[str | None, list]] = [(None, root)]
    pos = 0
    while True:
        start = text.find(open_tag, pos)
        if start < 0:
            if pos < len(text):
                stack[-1][1].append(("text", text[pos:]))
            break
        inner = start + len(open_tag)
        if open_tag == "{{" and text.startswith("{", inner):
            end = text.find("}" + close_tag, inner)
            if end < 0:
                raise Unsupported(f"{name}: unclosed triple mustache at offset {start}")
            kind, body, tag_end = "&", text[inner + 1 : end].strip(), end + 1 + len(close_tag)
        else:
            end = text.find(close_tag, inner)
            if end < 0:
                raise Unsupported(f"{name}: unclosed tag at offset {start}")
            raw = text[inner:end].strip()
            tag_end = end + len(close_tag)
            if raw[:1] and raw[0] in "#^/!>&=%":
                kind, body = raw[0], raw[1:].strip()
            else:
                kind, body = "", raw

        # Standalone: only whitespace before the tag on its line (and no other tag there), only
        # whitespace after it up to the end of the line.
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", tag_end)
        after = text[tag_end : len(text) if line_end < 0 else line_end]
        standalone = (
            kind in STANDALONE_KINDS
            and line_start >= pos
            and text[line_start:start].strip(" \t") == ""
            and after.rstrip("\r").strip(" \t") == ""
        )
        before = text[pos:line_start] if standalone else text[pos:start]
        if before:
            stack[-1][1].append(("text", before))
        pos = (len(text) if line_end < 0 else line_end + 1) if standalone else tag_end

        if kind in "#^&" or kind == "":
            if "(" in body:
                raise Unsupported(f"{name}: transforms ({body}) are not translated")
        if kind in ("", "&"):
            stack[-1][1].append(("var", body))
        elif kind in "#^":
            children: list = []
            stack[-1][1].append(("section", body, kind == "^", children))
            stack.append((body, children))
        elif kind == "/":
            if stack[-1][0] != body:
                raise Unsupported(f"{name}: {{{{/{body}}}}} closes {stack[-1][0]!r}")
            stack.pop()
        elif kind == "!":
            pass
        elif kind == "=":
            if not body.endswith("="):
                raise Unsupported(f"{name}: malformed delimiter change {body!r}")
            delimiters = body[:-1].split()
            if len(delimiters) != 2:
                raise Unsupported(f"{name}: malformed delimiter change {body!r}")
            open_tag, close_tag = delimiters
        elif kind == "%":
            pass  # pragmas (the Swift loader adds CONTENT_TYPE: TEXT; nothing is escaped here either)
        else:
            raise Unsupported(f"{name}: partials ({{{{>{body}}}}}) are not translated")
    if len(stack) != 1:
        raise Unsupported(f"{name}: section {stack[-1][0]!r} is not closed")
    return root


# --------------------------------------------------------------------------- translation to Jinja2

JINJA_RESERVED = {"true", "false", "none", "True", "False", "None", "loop", "self", "varargs", "kwargs"}
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Scope:
    """One level of the Mustache context stack while translating: the Jinja expression of its
    object (None for the root context) and every value that object takes in this context (a loop
    scope has one per element)."""

    def __init__(self, expression: str | None, samples: list):
        self.expression = expression
        self.samples = samples


def member(expression: str | None, key: str) -> str:
    if expression is None:
        if not IDENTIFIER.match(key) or keyword.iskeyword(key) or key in JINJA_RESERVED:
            raise Unsupported(f"top-level name {key!r} is not a Jinja identifier")
        return key
    return f"{expression}[{key!r}]"


def kind_of(samples: list) -> str:
    kinds = set()
    for value in samples:
        if isinstance(value, bool):
            kinds.add("bool")
        elif isinstance(value, (int, str)):
            kinds.add("scalar")
        elif isinstance(value, list):
            kinds.add("list")
        elif isinstance(value, dict):
            kinds.add("dict")
        else:
            kinds.add(type(value).__name__)
    if len(kinds) > 1:
        raise Unsupported(f"a name takes values of several kinds: {sorted(kinds)}")
    return kinds.pop() if kinds else "missing"


class Translator:
    def __init__(self, template: str, context: dict):
        self.template = template
        self.scopes = [Scope(None, [context])]
        self.out: list[str] = []

    def resolve(self, name: str) -> tuple[str | None, list]:
        """The Jinja expression of a Mustache name in the current scopes and the values it takes;
        (None, []) when Mustache would find nothing (it then renders nothing)."""
        if name == ".":
            scope = self.scopes[-1]
            if scope.expression is None:
                raise Unsupported(f"{self.template}: {{{{.}}}} at the top level")
            return scope.expression, scope.samples
        parts = name.split(".")
        for scope in reversed(self.scopes):
            holders = [value for value in scope.samples if isinstance(value, dict) and parts[0] in value]
            if not holders:
                continue
            if len(holders) != len(scope.samples):
                raise Unsupported(f"{self.template}: {parts[0]!r} is in some elements of a list only")
            expression = member(scope.expression, parts[0])
            samples = [value[parts[0]] for value in holders]
            for part in parts[1:]:
                if not all(isinstance(value, dict) and part in value for value in samples):
                    if any(isinstance(value, dict) and part in value for value in samples):
                        raise Unsupported(f"{self.template}: {name!r} is found for some elements only")
                    return None, []
                expression = member(expression, part)
                samples = [value[part] for value in samples]
            return expression, samples
        return None, []

    def text(self, text: str) -> None:
        if "{{" in text or "{%" in text or "{#" in text or text.endswith("{"):
            if "{% endraw" in text or "{%- endraw" in text:
                raise Unsupported(f"{self.template}: literal text contains '{{% endraw'")
            self.out.append("{% raw %}" + text + "{% endraw %}")
        else:
            self.out.append(text)

    def variable(self, name: str) -> None:
        expression, samples = self.resolve(name)
        kind = kind_of(samples)
        if expression is None or kind == "missing":
            return
        if kind == "scalar":
            self.out.append("{{ " + expression + " }}")
        elif kind == "bool":
            # Swift prints Bool as true/false; Python as True/False.
            self.out.append("{{ 'true' if " + expression + " else 'false' }}")
        elif kind in ("list", "dict"):
            raise Unsupported(
                f"{self.template}: {{{{{name}}}}} prints a {kind}: Swift's String(describing:) of an array or"
                " dictionary of Any (brackets, quotes, unordered keys) has no Jinja equivalent")
        else:
            raise Unsupported(f"{self.template}: {{{{{name}}}}} prints a {kind}, which is not translated"
                              " (Swift and Python print floats and nulls differently)")

    def section(self, name: str, inverted: bool, children: list) -> None:
        expression, samples = self.resolve(name)
        kind = kind_of(samples)
        if expression is None:
            # Mustache finds nothing: a section renders nothing, an inverted one renders its body.
            expression = member(None, name.split(".")[0]) if name != "." else "none"
            kind = "missing"
        if inverted:
            test = f"{expression} is not defined" if kind in ("dict", "scalar") else f"not {expression}"
            self.out.append("{% if " + test + " %}")
            self.nodes(children)
            self.out.append("{% endif %}")
            return
        if kind == "list":
            variable = f"mustache_item_{len(self.scopes)}"
            elements = [element for value in samples for element in value]
            self.out.append("{% for " + variable + " in " + expression + " %}")
            self.scopes.append(Scope(variable, elements))
            self.nodes(children)
            self.scopes.pop()
            self.out.append("{% endfor %}")
        elif kind in ("bool", "missing"):
            self.out.append("{% if " + expression + " %}")
            self.nodes(children)
            self.out.append("{% endif %}")
        else:
            # A dict or a scalar: Mustache renders the body once with the value pushed on the stack,
            # whatever the value (an empty dict, "" and 0 included).
            self.out.append("{% if " + expression + " is defined %}")
            self.scopes.append(Scope(expression, samples))
            self.nodes(children)
            self.scopes.pop()
            self.out.append("{% endif %}")

    def nodes(self, nodes: list) -> None:
        for node in nodes:
            if node[0] == "text":
                self.text(node[1])
            elif node[0] == "var":
                self.variable(node[1])
            else:
                self.section(node[1], node[2], node[3])


def translate(source: str, template: str, context: dict) -> str:
    translator = Translator(template, context)
    translator.nodes(parse(source, template))
    return "".join(translator.out)


# --------------------------------------------------------------------------- the work per render

TRAILING_BLANKS = re.compile(r"[ \t]+$", re.MULTILINE)
BLANK_RUNS = re.compile(r"\n{3,}")


def normalized(text: str) -> str:
    """StackRenderer.normalized: trailing spaces and tabs stripped from every line, runs of blank
    lines collapsed to one, no leading or trailing blank line, exactly one final newline."""
    text = BLANK_RUNS.sub("\n\n", TRAILING_BLANKS.sub("", text))
    return text.strip("\n") + "\n"


def render_set(outputs: list) -> tuple[str, list]:
    """Every file of the stack: bytes, SHA-256 and size, then the revision digest over the manifest."""
    files = []
    for path, template, values in outputs:
        data = normalized(template.render(values)).encode()
        files.append((path, hashlib.sha256(data).hexdigest(), len(data), data))
    files.sort(key=lambda file: file[0].encode())
    manifest = "".join(f"{sha} {size} {path}\n" for path, sha, size, _ in files)
    return hashlib.sha256(manifest.encode()).hexdigest(), files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--context", required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--show-translation", metavar="TEMPLATE")
    args = parser.parse_args()

    with open(args.context, encoding="utf-8") as handle:
        dump = json.load(handle)
    directory = dump["templates"]
    environment = jinja2.Environment(autoescape=False, keep_trailing_newline=True, undefined=jinja2.Undefined)

    # Translate (per template and context shape; odoo.conf is rendered four times) and compile once.
    compiled: dict[str, jinja2.Template] = {}
    outputs = []
    for output in dump["outputs"]:
        with open(os.path.join(directory, output["template"] + ".mustache"), encoding="utf-8") as handle:
            source = handle.read()
        try:
            jinja_source = translate(source, output["template"], output["values"])
        except Unsupported as error:
            print(f"render_peer: cannot translate exactly: {error}", file=sys.stderr)
            return 2
        if args.show_translation == output["template"]:
            print(jinja_source)
            return 0
        if jinja_source not in compiled:
            compiled[jinja_source] = environment.from_string(jinja_source)
        outputs.append((output["path"], compiled[jinja_source], output["values"]))

    # Byte-for-byte check against the Swift output before anything is timed.
    digest, files = render_set(outputs)
    expected = {output["path"]: output for output in dump["outputs"]}
    mismatches = 0
    for path, sha, size, data in files:
        want = expected[path]
        if data != want["contents"].encode() or sha != want["sha256"] or size != want["size"]:
            mismatches += 1
            diff = difflib.unified_diff(
                want["contents"].splitlines(keepends=True), data.decode().splitlines(keepends=True),
                f"swift/{path}", f"jinja2/{path}", n=2)
            sys.stderr.write("".join(list(diff)[:60]))
    if mismatches or digest != dump["digest"]:
        print(f"render_peer: Jinja2 output differs from the Swift output in {mismatches} file(s)"
              f" (revision digest {digest} vs {dump['digest']})", file=sys.stderr)
        return 2
    total_bytes = sum(size for _, _, size, _ in files)
    print(f"jinja2 {jinja2.__version__}: {len(files)} files, {total_bytes} bytes per render,"
          f" {len(compiled)} translated templates; byte-for-byte equal to the Swift output"
          f" (every file and the revision digest {digest[:16]}...)")

    # Timed: warm-up, then whole renders for --seconds, the clock read every 16 renders.
    warm_up_end = time.perf_counter() + max(0.2, args.seconds / 10)
    while time.perf_counter() < warm_up_end:
        for _ in range(16):
            render_set(outputs)
    renders = 0
    started = time.perf_counter()
    elapsed = 0.0
    while elapsed < args.seconds:
        for _ in range(16):
            render_set(outputs)
        renders += 16
        elapsed = time.perf_counter() - started
    microseconds = elapsed * 1e6 / renders
    print(f"RESULT renders_per_s={1e6 / microseconds:.1f} us_per_render={microseconds:.3f} renders={renders}"
          f" files={len(files)} bytes={total_bytes} equal=yes jinja2={jinja2.__version__} digest={digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
