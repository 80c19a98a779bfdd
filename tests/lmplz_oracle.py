"""lmplz's modified Kneser-Ney written out with dicts and tuples: the oracle both estimators are tested against."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

FALLBACK = (0.5, 1.0, 1.5)


def oracle(train: list[list[str]], order: int):
    """lmplz's estimate written out with dicts and tuples, as its documentation and source describe it."""
    n = order
    raw: list[Counter] = [Counter() for _ in range(n + 1)]
    for words in train:
        s = ["<s>", *words, "</s>"]
        for i in range(1, len(s)):
            for k in range(1, n + 1):
                if i - k + 1 >= 0:
                    raw[k][tuple(s[i - k + 1 : i + 1])] += 1
    raw[1][("<unk>",)] += 0  # in the vocabulary, never seen
    raw[1][("<s>",)] += 0
    adjusted: list[dict] = [{} for _ in range(n + 1)]
    for k in range(1, n + 1):
        for g, c in raw[k].items():
            if k == n or g[0] == "<s>":
                adjusted[k][g] = c
            else:
                adjusted[k][g] = len({h[0] for h in raw[k + 1] if h[1:] == g})
    adjusted[1][("<s>",)] = adjusted[1][("<unk>",)] = 0
    # lmplz counts the last lower-order entries it flushes with their raw counts (adjust_counts.cc)
    rank = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for words in train:
        for w in words:
            rank.setdefault(w, len(rank))
    windows = []
    for words in train:
        padded = ["<s>"] * (n - 1) + words + ["</s>"]
        windows += [padded[i - n + 1 : i + 1] for i in range(n - 1, len(padded))]
    last = max(windows, key=lambda w: [rank[x] for x in reversed(w)])
    stats = [dict(a) for a in adjusted]
    for m in range(1, n):
        suffix = tuple(last[-m:])
        if "<s>" in suffix[1:]:
            break
        stats[m][suffix] = raw[m][suffix]
    discounts = {}
    for k in range(1, n + 1):
        cc = Counter(stats[k].values())
        nn = [cc[j] for j in (1, 2, 3, 4)]
        d = FALLBACK
        if all(nn[:3]):
            y = nn[0] / (nn[0] + 2 * nn[1])
            cand = tuple(j - (j + 1) * y * nn[j] / nn[j - 1] for j in (1, 2, 3))
            if all(0 <= x <= j for j, x in zip((1, 2, 3), cand)):
                d = cand
        discounts[k] = d
    vsize = len(raw[1]) - 1
    prob: list[dict] = [{} for _ in range(n + 1)]
    backoff: dict = {}
    for k in range(1, n + 1):
        disc = {a: 0.0 if a == 0 else discounts[k][min(a, 3) - 1] for a in adjusted[k].values()}
        den, mass = defaultdict(float), defaultdict(float)
        for g, a in adjusted[k].items():
            den[g[:-1]] += a
            mass[g[:-1]] += disc[a]
        for g, a in adjusted[k].items():
            ctx = g[:-1]
            lower = 1 / vsize if k == 1 else prob[k - 1][g[1:]]
            prob[k][g] = (a - disc[a]) / den[ctx] + mass[ctx] / den[ctx] * lower
        if k > 1:
            backoff.update({ctx: mass[ctx] / den[ctx] for ctx in den})
    prob[1][("<s>",)] = 0.0
    return prob, backoff, discounts


def oracle_logprobs(model, test: list[list[str]], order: int) -> list[float]:
    """KenLM query: the longest known n-gram, times the back-off weights of the longer contexts."""
    prob, backoff, _ = model
    vocab = {g[0] for g in prob[1]}
    out = []
    for words in test:
        hist = ["<s>"]
        for w in [*words, "</s>"]:
            w = w if w in vocab else "<unk>"
            m = next(m for m in range(min(order, len(hist) + 1), 0, -1) if tuple(hist[len(hist) - m + 1 :] + [w]) in prob[m])
            lp = math.log(prob[m][tuple(hist[len(hist) - m + 1 :] + [w])])
            for j in range(m, min(order, len(hist) + 1)):
                lp += math.log(backoff.get(tuple(hist[len(hist) - j :]), 1.0))
            out.append(lp)
            hist.append(w)
    return out
