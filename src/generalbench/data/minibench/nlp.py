"""Language tasks of the mini-bench: templated items whose answers are computed, not typed.

Field names follow the published NLP annotation types (MultipleChoiceQA, OpenQA,
classification, ner, Translation, Code Generation, Grammar Correction, Time Series,
Mathematical Word Problem Solving) so the same adapters read them as real General-Bench files.
"""

from __future__ import annotations

from generalbench.data.minibench.common import TaskContext

_ANALOGIES = [("hot", "cold"), ("big", "small"), ("up", "down"), ("fast", "slow"),
              ("light", "dark"), ("open", "closed"), ("early", "late"), ("happy", "sad"),
              ("full", "empty"), ("old", "young"), ("high", "low"), ("wet", "dry")]


def analogy_mcq(ctx: TaskContext) -> list[dict]:
    """Antonym analogies 'a : b :: c : ?' with four options, answer as a letter."""
    out = []
    for i in range(ctx.n):
        a, b = _ANALOGIES[i % len(_ANALOGIES)]
        c, d = _ANALOGIES[(i + 1 + int(ctx.rng.integers(len(_ANALOGIES) - 1))) % len(_ANALOGIES)]
        if (c, d) == (a, b):
            c, d = _ANALOGIES[(i + 1) % len(_ANALOGIES)]
        distract = [w for pair in _ANALOGIES for w in pair if w not in (c, d)]
        options = [str(w) for w in ctx.rng.choice(distract, size=3, replace=False)]
        options.insert(i % 4, d)  # the answer letter cycles: a constant letter is right on 1/4
        out.append({"id": f"{i:04d}", "input": {
            "question": f"{a} is to {b} as {c} is to what?", "options": options},
            "output": {"answer": "ABCD"[options.index(d)]}})
    return out


def arithmetic(ctx: TaskContext) -> list[dict]:
    """Two-step word problems with integer answers."""
    items = ["apples", "pencils", "marbles", "books", "coins"]
    out = []
    for i in range(ctx.n):
        a, b, c = (int(v) for v in ctx.rng.integers(2, 20, size=3))
        thing = items[i % len(items)]
        text = (f"Sam has {a} {thing}. He buys {b} more and then gives away {min(c, a + b)}. "
                f"How many {thing} does Sam have now?")
        out.append({"id": f"{i:04d}", "input": {"problem": {"text": text, "constraints": ""}},
                    "output": {"solution": {"final_answer": str(a + b - min(c, a + b))}}})
    return out


_CAPITALS = [("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Spain", "Madrid"),
             ("Germany", "Berlin"), ("Canada", "Ottawa"), ("Egypt", "Cairo"), ("Peru", "Lima"),
             ("Kenya", "Nairobi"), ("Norway", "Oslo"), ("Greece", "Athens"),
             ("Portugal", "Lisbon"), ("Ireland", "Dublin"), ("Poland", "Warsaw")]


def capitals_qa(ctx: TaskContext) -> list[dict]:
    """Open questions about capital cities (a fixed, checkable fact table)."""
    order = ctx.rng.permutation(len(_CAPITALS))
    out = []
    for i in range(ctx.n):
        country, city = _CAPITALS[int(order[i % len(order)])]
        out.append({"id": f"{i:04d}", "input": {
            "question": f"What is the capital city of {country}?"},
            "output": {"answer": [city, f"{city}, {country}"]}})
    return out


_TOPICS = {
    "sports": ["The striker scored twice in the final match.", "The team won the league title.",
               "She ran the marathon in record time."],
    "weather": ["Heavy rain is expected tomorrow afternoon.", "The storm brought strong winds.",
                "It will be sunny and warm all week."],
    "food": ["The soup needs more salt and pepper.", "He baked fresh bread this morning.",
             "The restaurant serves excellent pasta."],
    "technology": ["The new phone has a faster processor.", "Engineers released a software update.",
                   "The laptop battery lasts ten hours."],
}


def topic(ctx: TaskContext) -> list[dict]:
    """Single-label topic classification of template sentences."""
    labels = list(_TOPICS)
    prompt = ("Classify the topic of the text into one of: " + ", ".join(labels)
              + ".\nText: <<<raw_text>>>")
    out = []
    for i in range(ctx.n):
        label = labels[i % len(labels)]
        sent = _TOPICS[label][int(ctx.rng.integers(len(_TOPICS[label])))]
        out.append({"id": f"{i:04d}", "input": {"prompt": prompt, "raw_text": sent},
                    "output": {"label": label}})
    return out


_TIMES = ["Monday", "Friday", "January", "March", "yesterday", "tomorrow", "last week",
          "next year", "noon", "midnight"]


def temporal_ner(ctx: TaskContext) -> list[dict]:
    """Extract time expressions; the sentence is built around the expressions it contains."""
    prompt = ("List every time expression in the text, comma-separated.\nText: <<<raw_text>>>")
    out = []
    for i in range(ctx.n):
        k = int(ctx.rng.integers(1, 3))
        times = [str(t) for t in ctx.rng.choice(_TIMES, size=k, replace=False)]
        text = f"We met {times[0]} at the station"
        text += f" and will meet again {times[1]}." if k == 2 else "."
        out.append({"id": f"{i:04d}", "input": {"prompt": prompt, "raw_text": text},
                    "output": {"entities": ", ".join(times)}})
    return out


_EN_FR = {"the": "le", "cat": "chat", "dog": "chien", "eats": "mange", "sees": "voit",
          "bread": "pain", "fish": "poisson", "bird": "oiseau", "horse": "cheval"}


def translation(ctx: TaskContext) -> list[dict]:
    """English to French sentences 'the X eats/sees the Y' from a small dictionary."""
    nouns = ["cat", "dog", "bread", "fish", "bird", "horse"]
    out = []
    for i in range(ctx.n):
        a, b = (str(w) for w in ctx.rng.choice(nouns, size=2, replace=False))
        verb = str(ctx.rng.choice(["eats", "sees"]))
        en = f"the {a} {verb} the {b}"
        fr = " ".join(_EN_FR[w] for w in en.split())
        out.append({"id": f"{i:04d}", "input": {"in": "English", "out": "French", "input": en},
                    "output": {"translation": fr}})
    return out


_OPS = [("add", "+", "returns x plus {k}"), ("sub", "-", "returns x minus {k}"),
        ("mul", "*", "returns x times {k}")]


def code_generation(ctx: TaskContext) -> list[dict]:
    """Write one-line Python functions; the reference is the canonical implementation."""
    out = []
    for i in range(ctx.n):
        name, op, desc = _OPS[i % len(_OPS)]
        k = int(ctx.rng.integers(2, 10))
        fn = f"{name}_{k}"
        out.append({"id": f"{i:04d}", "input": {
            "language": "python",
            "goal": f"Write a Python function {fn}(x) that {desc.format(k=k)}."},
            "output": {"response": {"content": f"def {fn}(x):\n    return x {op} {k}\n"}}})
    return out


_SUBJ = [("he", "goes", "go"), ("she", "plays", "play"), ("it", "runs", "run"),
         ("the boy", "reads", "read"), ("my sister", "sings", "sing")]
_OBJ = ["to school every day", "in the park", "after dinner", "on Sundays", "very well"]


def grammar(ctx: TaskContext) -> list[dict]:
    """Fix subject-verb agreement: the wrong sentence is made from the right one."""
    out = []
    for i in range(ctx.n):
        subj, right, wrong = _SUBJ[i % len(_SUBJ)]
        obj = _OBJ[int(ctx.rng.integers(len(_OBJ)))]
        out.append({"id": f"{i:04d}", "input": {
            "Error Type": "Verb Tense Errors",
            "Ungrammatical Statement": f"{subj.capitalize()} {wrong} {obj}."},
            "output": {"Standard English": f"{subj.capitalize()} {right} {obj}."}})
    return out


def time_series(ctx: TaskContext) -> list[dict]:
    """Predict the next value of a linear sequence (exactly determined by the given values)."""
    out = []
    for i in range(ctx.n):
        start, step = float(ctx.rng.integers(-20, 20)), float(ctx.rng.integers(1, 6))
        seq = [start + step * k for k in range(8)]
        out.append({"id": f"{i:04d}", "input": {"data": seq},
                    "output": {"target": start + step * 8}})
    return out
