#!/usr/bin/env python3
"""Checks docs/app-schema.json against the catalog's own cases.

- the schema is a valid JSON Schema (draft 2020-12);
- every built-in app in apps/ and every fixture in tests/fixtures/catalog/valid/ is accepted;
- every fixture in tests/fixtures/catalog/invalid/ whose .expect says `schema: reject` is rejected, and every one
  that says `schema: accept` (a rule JSON Schema cannot express) is accepted, so the schema is neither looser nor
  stricter than the documented format.

Usage: check_schema.py REPO_ROOT. Prints one line per failure and "N passed, M failed"; exits 1 on any failure.
"""
import json
import pathlib
import sys

import jsonschema


def load(path):
    # Definition files may carry // comments (as Make's .imljson); the fixtures put them on lines of their own.
    text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("//"))
    return json.loads(text)


def main():
    root = pathlib.Path(sys.argv[1])
    schema = json.loads((root / "docs" / "app-schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    passed, failed = 0, 0

    def check(path, want_valid):
        nonlocal passed, failed
        errors = list(validator.iter_errors(load(path)))
        if bool(errors) != (not want_valid):
            failed += 1
            detail = "; ".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message[:160]}" for e in errors[:5])
            print(f"FAIL {path}: expected {'valid' if want_valid else 'invalid'} by the schema. {detail}")
        else:
            passed += 1

    apps = sorted((root / "apps").glob("*.json"))
    fixtures = root / "tests" / "fixtures" / "catalog"
    for path in apps + sorted((fixtures / "valid").glob("*.json")):
        check(path, True)
    for path in sorted((fixtures / "invalid").glob("*.json")):
        directive = next((line.split(":", 1)[1].strip() for line in path.with_suffix(".expect").read_text().splitlines()
                          if line.startswith("schema:")), None)
        if directive == "none":
            continue  # not JSON at all
        if directive not in ("reject", "accept"):
            failed += 1
            print(f"FAIL {path}: its .expect needs a 'schema: reject|accept|none' line")
            continue
        check(path, directive == "accept")
    if len(apps) < 12:
        failed += 1
        print(f"FAIL only {len(apps)} built-in apps found")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
