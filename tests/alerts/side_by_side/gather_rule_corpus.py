"""Gather ElastAlert rule files from mirrored public repositories (``fetch`` puts them under
/work/.mirror/<owner>+<name>/repo) into a work folder, with provenance.

Not a test. Writes ``<out>/files/<owner>__<name>__<path with / as __>`` and ``<out>/sources.json``
(repository, path, commit, licence, sha256, whether the licence lets us keep a copy). Files whose
bytes are identical to one already gathered are skipped (forks copy the examples).

    python tests/alerts/side_by_side/gather_rule_corpus.py /tmp/rc
    /tmp/ea2/bin/python tests/alerts/side_by_side/elastalert2_rule_loader.py /tmp/rc/files /tmp/rc/ea2.json
    python tests/alerts/side_by_side/gather_rule_corpus.py /tmp/rc --keep /tmp/rc/ea2.json

``--keep`` copies the files whose licence lets us keep them into tests/alerts/rule_corpus/ and writes
its MANIFEST.json: provenance and ElastAlert2's record of each (what test_rule_corpus.py checks).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

MIRRORS = Path("/work/.mirror")
# Published Slack webhook URLs carry live-looking tokens: never copied, even where the licence allows.
SLACK_TOKEN = re.compile(rb"(hooks\.slack\.com/services/)T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+")

# (repository, licence as found in the repository or None, path patterns of rule files, at most N)
SOURCES: list[tuple[str, str | None, tuple[str, ...], int]] = [
    ("jertel/elastalert2", "Apache-2.0", ("examples/rules/*.yaml",), 100),
    ("Yelp/elastalert", "Apache-2.0", ("example_rules/*.yaml",), 100),
    ("eaxr/elastalert", "Apache-2.0", ("example_rules/*.yaml",), 100),
    ("davidlomanto/logstack-elk-elastalert", "Apache-2.0", ("elastalert/example_rules/*.yaml",), 100),
    ("dft-bluebadge/elastalert", "BSD-3-Clause",
     ("rules/*.yaml", "rules.disabled/*.yaml", "rule_templates/*.y*ml"), 100),
    ("rhrazdil/elastalertlab", "MIT", ("elastalert_rules/*.yaml",), 100),
    ("glg/elastalert", None, ("rules_templates/*.yaml",), 100),
    ("ToddBowles/Solavirum.Logging.ELK.Elastalert.Config", None, ("src/rules/*.yaml",), 100),
    ("Ahmed-tantawy/Jenkins-Monitoring-with-Elastalert2", None, ("rules/*.yaml",), 100),
    # Sigma rules converted by sigmac's ElastAlert backend: one per folder, the first 40 folders.
    ("m-aouzal/sigma_to_elastalert", None, ("converted_sigma_rules_to_elastalert/*.yml",), 40),
]


def git_dir(repo: str) -> Path:
    base = MIRRORS / repo.replace("/", "+") / "repo"
    return base / ".git" if (base / ".git").is_dir() else base


def git(repo: str, *args: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(git_dir(repo)), *args], check=True,
                          capture_output=True).stdout


CORPUS = Path(__file__).resolve().parents[1] / "rule_corpus"


def keep(out: Path, records_path: Path) -> None:
    sources = json.loads((out / "sources.json").read_text())
    records = json.loads(records_path.read_text())
    manifest = []
    for source in sources:
        if not source["keep"]:
            continue
        (CORPUS / source["file"]).write_bytes((out / "files" / source["file"]).read_bytes())
        entry = {k: source[k] for k in ("file", "repository", "path", "commit", "licence", "sha256", "redacted",
                                         "sha256_kept") if k in source}
        manifest.append({**entry, "elastalert2": records[source["file"]]})
    (CORPUS / "MANIFEST.json").write_text(json.dumps({
        "elastalert2": "2.19.0 (pip install elastalert2==2.19.0)",
        "recorded_by": "tests/alerts/side_by_side/elastalert2_rule_loader.py",
        "rules": manifest}, indent=1, sort_keys=False) + "\n")
    print(f"kept {len(manifest)} rule files in {CORPUS}")


def main(out: Path) -> None:
    (out / "files").mkdir(parents=True, exist_ok=True)
    seen: dict[str, str] = {}
    records = []
    for repo, licence, patterns, limit in SOURCES:
        commit = git(repo, "rev-parse", "HEAD").decode().strip()
        paths = git(repo, "ls-tree", "-r", "--name-only", "HEAD").decode().splitlines()
        chosen = [p for p in paths if any(fnmatch.fnmatch(p, pat) for pat in patterns)]
        if repo.startswith("m-aouzal/"):  # one file per folder
            by_folder: dict[str, str] = {}
            for p in sorted(chosen):
                by_folder.setdefault(p.rsplit("/", 1)[0], p)
            chosen = list(by_folder.values())
        for path in sorted(chosen)[:limit]:
            data = git(repo, "show", f"{commit}:{path}")
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen:
                continue
            name = f"{repo.replace('/', '__')}__{path.replace('/', '__')}"
            seen[digest] = name
            kept = SLACK_TOKEN.sub(rb"\1T00000000/B00000000/REDACTEDREDACTEDREDACTED", data)
            (out / "files" / name).write_bytes(kept)
            record = {"file": name, "repository": repo, "path": path, "commit": commit, "licence": licence,
                      "sha256": digest, "keep": licence is not None}
            if kept != data:
                record["redacted"] = "Slack webhook token replaced by T00000000/B00000000/REDACTED..."
                record["sha256_kept"] = hashlib.sha256(kept).hexdigest()
            records.append(record)
    (out / "sources.json").write_text(json.dumps(records, indent=1))
    print(f"{len(records)} files, {sum(r['keep'] for r in records)} with a licence that lets us keep them")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--keep":
        keep(Path(sys.argv[1]), Path(sys.argv[3]))
    else:
        main(Path(sys.argv[1]))
