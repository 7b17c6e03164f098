"""The text metrics read nltk's Porter stemmer and Treebank rules without `import nltk` (whose
package __init__ pulls scipy.stats and scikit-learn: seconds of start-up), and a later `import
nltk` in the same process still gets the real package."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_text_metrics_do_not_import_nltk_package():
    code = (
        "import sys\n"
        "from generalbench.metrics import compute_detailed\n"
        "compute_detailed('rougeL', ['the cats are running home'], ['a cat runs home'])\n"
        "compute_detailed('bleu1', ['The cat sat. It ran.'], ['The cat sat down.'])\n"
        "print(','.join(m for m in ('nltk', 'scipy.stats', 'sklearn') if m in sys.modules))\n"
        "from generalbench.metrics._tokenize import _stemmer, _treebank\n"
        "words = ['running', 'generalization', 'caresses', 'ponies', 'dying', 'agreed']\n"
        "ours = [_stemmer().stem(w) for w in words]\n"
        "import nltk\n"
        "from nltk.stem.porter import PorterStemmer\n"
        "from nltk.tokenize.destructive import NLTKWordTokenizer as T\n"
        "same = ours == [PorterStemmer().stem(w) for w in words]\n"
        "same &= [r.pattern for r, _ in _treebank()[0]] == [r.pattern for r, _ in T.STARTING_QUOTES]\n"
        "print(hasattr(nltk, 'word_tokenize'), PorterStemmer().stem('running'), same)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.split("\n")
    assert lines[0] == ""
    assert lines[1] == "True run True"


def test_same_stems_and_rules_as_nltk():
    from nltk.stem.porter import PorterStemmer
    from nltk.tokenize.destructive import NLTKWordTokenizer

    from generalbench.metrics._nltk import submodule

    porter = submodule("nltk.stem.porter")  # nltk imported: a plain import
    words = ["running", "generalization", "caresses", "ponies", "sky", "dying", "agreed"]
    assert [porter.PorterStemmer().stem(w) for w in words] == [PorterStemmer().stem(w) for w in words]
    assert submodule("nltk.tokenize.destructive").NLTKWordTokenizer is NLTKWordTokenizer


def test_missing_package_is_an_import_error():
    from generalbench.metrics._nltk import submodule

    with pytest.raises(ImportError):
        submodule("no_such_package_xyz.sub")
