#!/usr/bin/env python3
"""Independent checks of EPCIS documents for the upload tests.

Usage:
  epcis_check.py json-schema SHARED_EPCIS_DIR FILE...   validate EPCIS 2.0 JSON documents
  epcis_check.py event-hashes FILE                      print the reference event hash IDs

json-schema validates each FILE ("-" = stdin) against the official EPCIS 2.0 JSON
schema split into parts under SHARED_EPCIS_DIR/JSON-Schema/ (every $ref resolved
locally, nothing fetched), and against the single-file schema
SHARED_EPCIS_DIR/EPCIS-JSON-Schema.json. Prints "valid: FILE" or "invalid: FILE: why"
per file; exit status 0 only if every file is valid.

event-hashes prints one line per event with the CBV 2.0 event hash ID computed by
the GS1 reference implementation (PyPI package epcis-event-hash-generator).

Exit status 3 means a needed Python package is missing (the caller decides whether
that is a skip or a failure).
"""
import json
import pathlib
import sys


def load_json_schema_registry(shared):
    try:
        import jsonschema
        from referencing import Registry, Resource
    except ImportError as missing:
        print(f"missing python package: {missing.name} (pip install jsonschema)", file=sys.stderr)
        sys.exit(3)
    base = pathlib.Path(shared) / "JSON-Schema"
    resources = []
    for path in sorted(base.glob("*.json")) + sorted((base / "schemas").glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        if "$id" in contents:
            resources.append((contents["$id"], Resource.from_contents(contents)))
    registry = Registry().with_resources(resources)
    root = json.loads((base / "EPCIS-JSON-Schema-root.json").read_text(encoding="utf-8"))
    single = json.loads((pathlib.Path(shared) / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))
    checker = jsonschema.FormatChecker()
    split_validator = jsonschema.Draft7Validator(root, registry=registry, format_checker=checker)
    single_validator = jsonschema.Draft7Validator(single, format_checker=checker)
    return [("split schema", split_validator), ("single-file schema", single_validator)]


def read_document(name):
    text = sys.stdin.read() if name == "-" else pathlib.Path(name).read_text(encoding="utf-8")
    return json.loads(text)


def json_schema(shared, files):
    validators = load_json_schema_registry(shared)
    all_valid = True
    for name in files:
        try:
            document = read_document(name)
        except (OSError, ValueError) as err:
            print(f"invalid: {name}: not readable JSON: {err}")
            all_valid = False
            continue
        problems = []
        for label, validator in validators:
            for error in validator.iter_errors(document):
                where = "/".join(str(p) for p in error.absolute_path)
                problems.append(f"{label}: at /{where}: {error.message[:300]}")
                break
        if problems:
            all_valid = False
            print(f"invalid: {name}: " + "; ".join(problems))
        else:
            print(f"valid: {name}")
    return 0 if all_valid else 1


def event_hashes(path):
    try:
        from epcis_event_hash_generator import events_from_file_reader, hash_generator
    except ImportError as missing:
        print(f"missing python package: {missing.name} (pip install epcis-event-hash-generator)", file=sys.stderr)
        sys.exit(3)
    events = events_from_file_reader.event_list_from_file(path)
    prehashes = hash_generator.derive_prehashes_from_events(events, join_by="")
    for line in hash_generator.calculate_hashes_from_pre_hashes(prehashes, "sha256"):
        print(line)
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "json-schema":
        return json_schema(argv[2], argv[3:])
    if len(argv) == 3 and argv[1] == "event-hashes":
        return event_hashes(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
