#!/usr/bin/env python3
"""Reference renderer for Sovra's chat-template parity tests.

Renders every *.jinja in a folder over the conversations of a suite file with Python's Jinja2, set up
the way Hugging Face's apply_chat_template does (transformers/utils/chat_template_utils.py):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loop-controls extension
and a {% generation %} extension, tojson = json.dumps(ensure_ascii=False, ...), raise_exception and
strftime_now globals, and render(messages=, tools=, documents=None, add_generation_prompt=,
bos_token=, eos_token=, **extra).

usage: tmpl-render.py SUITE.json TEMPLATE_DIR > reference.json
       tmpl-render.py --snippets SNIPPETS.json > snippets-reference.json
       tmpl-render.py --random COUNT SEED SNIPPETS_OUT.json > reference.json   (writes the random snippets too)
Output: {"template file": {"case name": {"out": text} | {"error": "Type: message"}}}
With --snippets: {"snippet name": {"out": text} | {"error": ...}} for [{"name", "template", "vars"}].
"""
import datetime
import json
import os
import sys
import warnings

import jinja2
import jinja2.ext
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationExtension(jinja2.ext.Extension):
    """HF's AssistantTracker when not tracking: {% generation %} renders its body (inside a call block)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


# Jinja2's constant folding makes CPython warn about expressions like (1)[0]; they still render or raise normally.
warnings.filterwarnings("ignore", category=SyntaxWarning)


def make_env(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return now.strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationExtension, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def snippets(path):
    with open(path, encoding="utf-8") as f:
        suite = json.load(f)
    env = make_env(datetime.datetime.fromisoformat(suite["now"]))
    result = {}
    for snip in suite["snippets"]:
        try:
            result[snip["name"]] = {"out": env.from_string(snip["template"]).render(**snip.get("vars", {}))}
        except Exception as e:
            result[snip["name"]] = {"error": f"{type(e).__name__}: {e}"}
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True))
    sys.stdout.write("\n")


def random_snippets(count, seed):
    """Seeded random expressions over Jinja's operators, filters, tests and methods (differential testing)."""
    import random
    rng = random.Random(seed)
    atoms = ["0", "1", "-3", "2.5", "1e-7", "''", "'a'", "'Hello World'", "'  x y  '", "'é😀'", "'a,b,,c'", "none", "true", "false",
             "[]", "[1, 2, 3]", "['b', 'A', 'c']", "(1, 'x')", "{}", "{'k': 1, 'j': [2]}", "undef", "n", "s", "l", "d", "ms",
             "ms[0]", "d.k", "l[1:]", "s[::-1]", "range(4)"]
    filters = ["length", "trim", "upper", "lower", "title", "capitalize", "string", "list", "first", "last", "tojson", "join(',')",
               "default('D')", "default('D', true)", "int", "float", "abs", "unique|list", "sort", "reverse|list", "dictsort", "items|list",
               "map('string')|list", "select|list", "reject|list", "selectattr('role')|list", "map(attribute='role')|list", "min", "max",
               "sum", "replace('a', 'b')", "indent(2)", "safe", "e", "wordcount", "count", "tojson(indent=1)"]
    tests = ["defined", "undefined", "none", "string", "number", "integer", "float", "mapping", "sequence", "iterable", "boolean",
             "true", "false", "odd", "even", "lower", "upper", "callable", "divisibleby(2)", "in([1, 'a'])", "eq(1)", "gt(0)"]
    methods = ["strip()", "split()", "split(',')", "upper()", "startswith('a')", "endswith('x')", "replace('l', 'L')", "title()",
               "get('k')", "get('z', 5)", "items()", "keys()", "values()", "count(1)", "index(2)", "lstrip('H')", "format(1)", "find('o')"]
    binops = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">=", "in", "not in", "and", "or", "**"]

    def expr(depth):
        r = rng.random()
        if depth <= 0 or r < 0.3:
            return rng.choice(atoms)
        if r < 0.5:
            return f"({expr(depth - 1)} {rng.choice(binops)} {expr(depth - 1)})"
        if r < 0.65:
            return f"({expr(depth - 1)})|{rng.choice(filters)}"
        if r < 0.75:
            return f"({expr(depth - 1)} is {rng.choice(['', 'not '])}{rng.choice(tests)})"
        if r < 0.85:
            return f"({expr(depth - 1)}).{rng.choice(methods)}"
        if r < 0.92:
            return f"({expr(depth - 1)} if {expr(depth - 1)} else {expr(depth - 1)})"
        # Subscripts apply to variables only: on constants Jinja2 folds obj[slice] at compile time through
        # environment.getitem (Undefined on failure) but subscripts at run time (TypeError) - no template relies on that.
        return rng.choice(["s", "l", "ms", "d", "ms[0]", "d.z"]) + "[" + rng.choice(["0", "-1", "1:", ":2", "::2", "'k'", "'role'"]) + "]"

    def stmt():
        r = rng.random()
        if r < 0.6:
            return "{{ " + expr(3) + " }}"
        if r < 0.8:
            return "{% for x in " + expr(2) + " %}[{{ loop.index }}{{ x }}{{ loop.last }}]{% else %}E{% endfor %}"
        return "{% if " + expr(2) + " %}T{% elif " + expr(2) + " %}U{% else %}F{% endif %}"

    variables = {"n": 7, "s": "Tab\tline\nnext", "l": [3, "x", None, 2.0], "d": {"k": "v", "z": [1, {"y": True}]},
                 "ms": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None}]}
    return [{"name": f"random_{seed}_{i}", "template": "".join(stmt() for _ in range(rng.randint(1, 3))), "vars": variables}
            for i in range(count)]


def main():
    if sys.argv[1] == "--random":
        suite = {"now": "2026-01-15T10:30:00", "snippets": random_snippets(int(sys.argv[2]), int(sys.argv[3]))}
        path = sys.argv[4]
        with open(path, "w", encoding="utf-8") as f:
            json.dump(suite, f, ensure_ascii=False, indent=1)
        snippets(path)
        return
    if sys.argv[1] == "--snippets":
        snippets(sys.argv[2])
        return
    suite_path, template_dir = sys.argv[1], sys.argv[2]
    with open(suite_path, encoding="utf-8") as f:
        suite = json.load(f)
    env = make_env(datetime.datetime.fromisoformat(suite["now"]))
    result = {}
    for name in sorted(os.listdir(template_dir)):
        if not name.endswith(".jinja"):
            continue
        with open(os.path.join(template_dir, name), encoding="utf-8", newline="") as f:
            source = f.read()
        per_case = {}
        try:
            template = env.from_string(source)
        except Exception as e:  # the whole template fails to compile
            err = {"error": f"{type(e).__name__}: {e}"}
            result[name] = {case["name"]: err for case in suite["cases"]}
            continue
        for case in suite["cases"]:
            kwargs = dict(messages=case["messages"],
                          tools=(suite["tools_flat"] if case.get("tools") == "flat" else suite["tools"]) if case.get("tools") else None,
                          documents=None,
                          add_generation_prompt=case["add_generation_prompt"],
                          bos_token=suite["bos_token"], eos_token=suite["eos_token"])
            kwargs.update(case.get("extra", {}))
            try:
                per_case[case["name"]] = {"out": template.render(**kwargs)}
            except Exception as e:
                per_case[case["name"]] = {"error": f"{type(e).__name__}: {e}"}
        result[name] = per_case
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
