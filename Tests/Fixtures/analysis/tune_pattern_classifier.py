#!/usr/bin/env python3
"""Tunes PatternClassifier on the labelled maps and measures it on held-out texts (numpy only).

    python3 Tests/Fixtures/analysis/tune_pattern_classifier.py [LABELS.json]
    python3 Tests/Fixtures/analysis/tune_pattern_classifier.py --all     # final fit, all of v2
        [--sets v2,v3 --out v4]                                          # v4's fit
        [--sets v2,v3,v4,v5 --out v6 --rule-recall 0.75]                 # v6's fit
    python3 Tests/Fixtures/analysis/tune_pattern_classifier.py --fresh   # frozen model on v3, once
        [--set v6,v7 --model v6 --bootstrap 2000]                        # v7's rule, pooled

Reads labelled/v2/maps.json (every map's 24 MapFeatures, made by make_labelled_set.py) and
labelled/v2/labels.json (the labels given by eye, PROTOCOL.md). The maps of the texts whose
split is "tune" are the only ones any choice below sees; the "heldout" texts (never a map of
one text on both sides) are used once, at the end, to report. Deterministic.

Candidates, each chosen by leave-one-text-out cross-validation over the tune texts:
  rules   the rule structure of PatternClassifier (diagonal component, vertical component,
          block) with its thresholds searched on a grid, plus a floor on how far the strongest
          column stands above uniform (columnMass * L), which the old rules lacked;
  linear  a multinomial logistic regression on 15 inputs: 10 scores derived from the first 20
          features, the 4 row-wise features (darkColumn, greyColumn, darkBand, nearBand; what
          PROTOCOL.md judges: a column or diagonal dark in most rows) and isPair
          (standardised with the tune maps' means and deviations), trained on the tune maps
          plus 1,000 synthetic prototypes at weight 0.2 (the recipe of AnalysisPrototypeTests,
          so that the textbook cases stay right); its L2 penalty and an added bias on the
          heterogeneous logit (the labels' rarest common type: without it the model trades
          its recall for the vertical type's) chosen by the cross-validation: the best
          agreement among the settings whose heterogeneous recall is >= 0.70 at precision
          >= 0.60.
The candidate with the better cross-validated agreement is reported, with the old rules'
numbers on the same held-out maps for comparison, and printed as Swift constants for
Sources/BertScopeAnalysis/PatternClassifier.swift. Writes labelled/v2/evaluation.json.
"""
import importlib.util, itertools, json, math, os, sys
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
V2 = os.path.join(HERE, "labelled", "v2")
TYPES = ["vertical", "diagonal", "vertical+diagonal", "block", "heterogeneous"]
PROTOTYPE_WEIGHT = 0.2
SCORE_NAMES = ["logDiagonal", "columnMass", "logColumnRatio", "columnConcentration", "sharedProfile",
               "blockExcess", "rowEntropy", "specialMass", "punctMass", "bandShare",
               "darkColumn", "greyColumn", "darkBand", "nearBand", "isPair"]


def f32(x):
    return np.float32(x)


def derived(f):
    """The raw PatternScores of the Swift code, from one feature vector (its first 20 floats; float32 math)."""
    f = [f32(v) for v in f[:20]]
    (cls, sep, punct, self_, prev, next_, entropy, special, punct_mass, max_col, col_entropy, band, within,
     cross, _, _, _, _, length, wu) = f
    log_l = f32(math.log(length)) if length > 1 else f32(0)
    other = within + cross
    diagonal = band / other * length / f32(3) if other > 1e-6 and length > 0 else f32(0)
    concentration = f32(1) - col_entropy / log_l if log_l > 0 else f32(0)
    row_conc = log_l - entropy
    shared = (log_l - col_entropy) / row_conc if row_conc > 1e-4 else f32(0)
    is_pair = wu < 1 - 1e-6
    block = (within / other - wu) / (f32(1) - wu) if is_pair and other > 1e-6 else f32(0)
    return dict(diagonal=diagonal, columnMass=max_col, concentration=concentration, shared=shared, block=block,
                isPair=is_pair, length=length, logL=log_l, entropy=entropy, special=special, punct=punct_mass,
                band=band, other=other)


def scores(f):
    """The 15 inputs of the linear model (Swift: PatternScores.inputs): 10 scores of the first 20
    features, the 4 row-wise features (MapFeatures 20-23) as they are, and isPair."""
    d = derived(f)
    return np.array([
        math.log(max(float(d["diagonal"]), 1e-3)),
        float(d["columnMass"]),
        math.log(max(float(d["columnMass"] * d["length"]), 1e-3)),
        float(d["concentration"]),
        min(max(float(d["shared"]), 0.0), 2.0),
        float(d["block"]),
        float(d["entropy"] / d["logL"]) if d["logL"] > 0 else 0.0,
        float(d["special"]),
        float(d["punct"]),
        float(d["band"] / d["other"]) if d["other"] > 1e-6 else 0.0,
        float(f32(f[20])), float(f32(f[21])), float(f32(f[22])), float(f32(f[23])),
        1.0 if d["isPair"] else 0.0,
    ])


def old_rules(f, t=(2.2, 0.3, 0.6, 0.05, 0.5, 0.0)):
    """PatternClassifier as it was (t[5] = 0: no column-ratio floor)."""
    diag_t, cm_t, sp_t, cc_t, be_t, ratio_t = t
    d = derived(f)
    has_diag = d["diagonal"] >= diag_t
    has_vert = d["columnMass"] >= cm_t or (
        d["shared"] >= sp_t and d["concentration"] >= cc_t and d["columnMass"] * d["length"] >= ratio_t)
    if has_diag:
        return 2 if has_vert else 1
    if has_vert:
        return 0
    return 3 if d["isPair"] and d["block"] >= be_t else 4


# --- synthetic prototypes (the recipe of AnalysisPrototypeTests) ---------------------------------

def load_features_module():
    spec = importlib.util.spec_from_file_location("mls", os.path.join(HERE, "make_labelled_set.py"))
    mod = importlib.util.module_from_spec(spec)
    argv = sys.argv
    sys.argv = [argv[0]]
    spec.loader.exec_module(mod)
    sys.argv = argv
    return mod


def prototypes(mod, count=200, seed=17):
    rng = np.random.default_rng(seed)
    out = []
    for p in range(5):
        for k in range(count):
            n = int(rng.integers(12, 61))
            pair = p == 3 or k % 2 == 0
            split = int(rng.integers(n // 3, 2 * n // 3 + 1)) if pair else None
            kinds = [mod.OTHER] * n
            seg = [0] * n
            kinds[0], kinds[n - 1] = mod.CLS, mod.SEP
            if split:
                kinds[split - 1] = mod.SEP
                for i in range(split, n):
                    seg[i] = 1
            m = np.zeros((n, n))
            for i in range(n):
                row = np.zeros(n)
                if p == 0:
                    row[0], row[n - 1] = 0.6, 0.25
                    row[int(rng.integers(1, n - 1))] += 0.15
                elif p == 1:
                    row[max(i - 1, 0)] += 0.8
                    row[i] += 0.2
                elif p == 2:
                    row[0] += 0.45
                    row[max(i - 1, 0)] += 0.45
                    row[i] += 0.1
                elif p == 3:
                    for j in range(n):
                        if seg[j] == seg[i]:
                            row[j] = rng.uniform(0.5, 1.5)
                else:
                    row = np.exp(2 * rng.uniform(-1, 1, n))
                noise = rng.uniform(0, 1, n)
                m[i] = 0.8 * row / row.sum() + 0.2 * noise / noise.sum()
            wu = mod.within_uniform(kinds, seg)
            out.append((mod.map_features(m, kinds, seg, wu), p))
    return out


# --- the linear model ----------------------------------------------------------------------------

def fit(X, y, weights, lam, pair, iters=3000):
    """Multinomial logistic regression by full-batch gradient descent with momentum (deterministic).
    `pair` masks the block class for single texts."""
    n, k = X.shape
    W = np.zeros((5, k))
    b = np.zeros(5)
    vW, vb = np.zeros_like(W), np.zeros_like(b)
    Y = np.eye(5)[y]
    mask = np.where(pair[:, None] | (np.arange(5)[None, :] != 3), 0.0, -1e9)
    for _ in range(iters):
        z = X @ W.T + b + mask
        z -= z.max(1, keepdims=True)
        P = np.exp(z)
        P /= P.sum(1, keepdims=True)
        G = (P - Y) * weights[:, None]
        gW = G.T @ X / weights.sum() + lam * W
        gb = G.sum(0) / weights.sum()
        vW = 0.9 * vW - 0.5 * gW
        vb = 0.9 * vb - 0.5 * gb
        W += vW
        b += vb
    return W, b


STRUCTURE_FLOOR = 1.5  # PatternClassifier rule 1


def no_structure(F):
    """PatternClassifier's rule 1, per feature vector: neither the strongest column nor the band
    gets 1.5 times its uniform share (columnMass * L < 1.5 and diagonal < 1.5) -> heterogeneous.
    Fixed before fitting, for maps unlike the labelled ones (near-uniform); it decides none of the
    labelled maps (their smallest columnMass * L is 1.77)."""
    D = [derived(f) for f in F]
    return np.array([float(d["columnMass"] * d["length"]) < STRUCTURE_FLOOR and float(d["diagonal"]) < STRUCTURE_FLOOR
                     for d in D])


def predict(W, b, X, pair, guard=None):
    z = X @ W.T + b
    z[~pair, 3] = -np.inf
    p = z.argmax(1)
    if guard is not None:
        p = np.where(guard, 4, p)
    return p, z


def class_weights(y):
    counts = np.bincount(y, minlength=5).astype(float)
    w = np.where(counts > 0, counts.sum() / (5 * np.maximum(counts, 1)), 0.0)
    return w[y]


# --- metrics -------------------------------------------------------------------------------------

def confusion(y, p):
    c = np.zeros((5, 5), dtype=int)
    for a, b in zip(y, p):
        c[a, b] += 1
    return c


def report(y, p):
    c = confusion(y, p)
    per = {}
    for t in range(5):
        support = int(c[t].sum())
        predicted = int(c[:, t].sum())
        per[TYPES[t]] = {
            "support": support, "predicted": predicted,
            "recall": c[t, t] / support if support else None,
            "precision": c[t, t] / predicted if predicted else None,
        }
    return {"maps": int(len(y)), "agreement": float(np.mean(np.array(y) == np.array(p))), "per_type": per,
            "confusion": c.tolist()}


def kappa(a, b):
    a, b = np.array(a), np.array(b)
    po = np.mean(a == b)
    pe = sum(np.mean(a == t) * np.mean(b == t) for t in range(5))
    return float((po - pe) / (1 - pe)) if pe < 1 else 1.0


class Fitter:
    """The linear model's training data: the labelled maps' inputs X_all / y_all / pair_all, the
    synthetic prototypes (at PROTOTYPE_WEIGHT), standardised with the means and deviations of
    X_all[fit_rows] (isPair stays 0/1)."""

    def __init__(self, X_all, y_all, pair_all, fit_rows):
        self.X_all, self.y_all, self.pair_all = X_all, y_all, pair_all
        protos = prototypes(load_features_module())
        self.F_protos = [f for f, _ in protos]
        self.Xp = np.array([scores(f) for f in self.F_protos])
        self.yp = np.array([p for _, p in protos])
        self.mean, self.std = X_all[fit_rows].mean(0), X_all[fit_rows].std(0)
        self.std[self.std < 1e-6] = 1.0
        self.mean[-1], self.std[-1] = 0.0, 1.0

    def standard(self, X):
        return (X - self.mean) / self.std

    def fit_on(self, idx, lam, het_bias):
        X = np.vstack([self.standard(self.X_all[idx]), self.standard(self.Xp)])
        y = np.concatenate([self.y_all[idx], self.yp])
        w = np.concatenate([np.ones(len(idx)), np.full(len(self.yp), PROTOTYPE_WEIGHT)])
        pair = np.concatenate([self.pair_all[idx], self.Xp[:, -1] > 0.5])
        W, b = fit(X, y, w, lam, pair)
        b = b.copy()
        b[4] += het_bias
        return W, b


def main():
    data = json.load(open(os.path.join(V2, "maps.json")))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(V2, "labels.json")
    labels = json.load(open(path))
    maps = [m for m in data["maps"] if m["id"] in labels["labels"]]
    y_all = np.array([TYPES.index(labels["labels"][m["id"]]["label"]) for m in maps])
    split = np.array([m["split"] for m in maps])
    text = np.array([m["text_id"] for m in maps])
    F = [m["features"] for m in maps]
    X_all = np.array([scores(f) for f in F])
    pair_all = X_all[:, -1] > 0.5
    tune, held = split == "tune", split == "heldout"
    result = {"maps": int(len(maps)), "tune_maps": int(tune.sum()), "heldout_maps": int(held.sum())}

    second = labels.get("second", {})
    shared = [i for i in labels["labels"] if i in second]
    result["double_labelled"] = len(shared)
    result["kappa"] = kappa([TYPES.index(labels["labels"][i]["label"]) for i in shared],
                            [TYPES.index(second[i]) for i in shared]) if shared else None
    result["raw_agreement_between_labellers"] = float(np.mean(
        [labels["labels"][i]["label"] == second[i] for i in shared])) if shared else None

    old = np.array([old_rules(f) for f in F])
    result["old_rules_heldout"] = report(y_all[held], old[held])
    result["old_rules_tune"] = report(y_all[tune], old[tune])

    # Rules: grid search with leave-one-text-out CV on the tune texts.
    D = [derived(f) for f in F]
    diag = np.array([float(d["diagonal"]) for d in D])
    cm = np.array([float(d["columnMass"]) for d in D])
    sp = np.array([float(d["shared"]) for d in D])
    cc = np.array([float(d["concentration"]) for d in D])
    be = np.array([float(d["block"]) for d in D])
    ratio = cm * np.array([float(d["length"]) for d in D])

    def rules_predict(t, idx):
        dt, cmt, spt, cct, bet, rt = t
        hd = diag[idx] >= dt
        hv = (cm[idx] >= cmt) | ((sp[idx] >= spt) & (cc[idx] >= cct) & (ratio[idx] >= rt))
        out = np.where(hd, np.where(hv, 2, 1), np.where(hv, 0, np.where(pair_all[idx] & (be[idx] >= bet), 3, 4)))
        return out

    grid = list(itertools.product([1.6, 1.8, 2.0, 2.2, 2.4, 2.7, 3.0], [0.2, 0.25, 0.3, 0.35, 0.4, 0.5],
                                  [0.4, 0.5, 0.6, 0.7, 0.8], [0.02, 0.05, 0.1, 0.15], [0.3, 0.5, 0.7],
                                  [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0]))
    tune_idx = np.where(tune)[0]
    tune_texts = sorted(set(text[tune]))

    def balanced_score(y, p):  # agreement, then mean recall of the types present (ties)
        recalls = [np.mean(p[y == t] == t) for t in range(5) if np.any(y == t)]
        return float(np.mean(p == y)) + 0.25 * float(np.mean(recalls))

    def best_rules(idx):
        best, best_s = None, -1
        for t in grid:
            s = balanced_score(y_all[idx], rules_predict(t, idx))
            if s > best_s:
                best, best_s = t, s
        return best

    cv_rules = np.zeros(len(maps), dtype=int)
    for held_text in tune_texts:
        train = tune_idx[text[tune_idx] != held_text]
        test = tune_idx[text[tune_idx] == held_text]
        cv_rules[test] = rules_predict(best_rules(train), test)
    rules_t = best_rules(tune_idx)
    result["rules"] = {"thresholds": dict(zip(["diagonal", "columnMass", "sharedProfile", "columnConcentration",
                                                "blockExcess", "columnRatio"], rules_t)),
                       "cv_tune": report(y_all[tune], cv_rules[tune]),
                       "heldout": report(y_all[held], rules_predict(rules_t, np.where(held)[0]))}

    # Linear model.
    fitter = Fitter(X_all, y_all, pair_all, tune)
    Xp, yp, mean, std, standard, fit_on = fitter.Xp, fitter.yp, fitter.mean, fitter.std, fitter.standard, fitter.fit_on
    protos = list(zip(fitter.F_protos, yp))

    # lambda and the heterogeneous bias: the best cross-validated agreement among the settings
    # whose cross-validated heterogeneous recall is >= 0.70 at precision >= 0.60 (the targets).
    best, best_pred, fallback = None, None, None
    for lam in [3e-3, 1e-2, 3e-2]:
        for het_bias in [0.0, 0.25, 0.5, 0.75, 1.0]:
            pred = np.zeros(len(maps), dtype=int)
            for held_text in tune_texts:
                train = tune_idx[text[tune_idx] != held_text]
                test = tune_idx[text[tune_idx] == held_text]
                W, b = fit_on(train, lam, het_bias)
                pred[test] = predict(W, b, standard(X_all[test]), pair_all[test])[0]
            r = report(y_all[tune], pred[tune])
            h = r["per_type"]["heterogeneous"]
            ok = (h["recall"] or 0) >= 0.70 and (h["precision"] or 0) >= 0.60
            print(f"linear lambda {lam} het bias {het_bias}: CV agreement {r['agreement']:.3f}, "
                  f"heterogeneous recall {h['recall']:.2f} precision {h['precision'] or 0:.2f}", file=sys.stderr)
            if ok and (best is None or r["agreement"] > best[2]):
                best, best_pred = (lam, het_bias, r["agreement"]), pred
            if fallback is None or r["agreement"] > fallback[2]:
                fallback = (lam, het_bias, r["agreement"], pred)
    if best is None:
        best, best_pred = fallback[:3], fallback[3]
    best_lam, het_bias = best[0], best[1]
    W, b = fit_on(tune_idx, best_lam, het_bias)
    held_idx = np.where(held)[0]
    guard_all = no_structure(F)
    lin_held = predict(W, b, standard(X_all[held_idx]), pair_all[held_idx], guard_all[held_idx])[0]
    proto_pred = predict(W, b, standard(Xp), Xp[:, -1] > 0.5, no_structure([f for f, _ in protos]))[0]
    result["linear"] = {"lambda": best_lam, "heterogeneous_bias": het_bias, "cv_tune": report(y_all[tune], best_pred[tune]),
                        "heldout": report(y_all[held], lin_held),
                        "prototypes_right": int(np.sum(proto_pred == yp)), "prototypes": int(len(yp)),
                        "mean": mean.tolist(), "std": std.tolist(), "W": W.tolist(), "b": b.tolist(),
                        "inputs": SCORE_NAMES, "structure_floor": STRUCTURE_FLOOR,
                        "labelled_maps_rule1_decides": int(guard_all.sum())}
    # The candidate with the better cross-validated agreement is the one PatternClassifier ships.
    result["shipped"] = ("linear" if result["linear"]["cv_tune"]["agreement"] > result["rules"]["cv_tune"]["agreement"]
                         else "rules")
    if len(sys.argv) <= 1:
        json.dump(result, open(os.path.join(V2, "evaluation.json"), "w"), indent=1)

    for name in ["old_rules_heldout"]:
        print(name, json.dumps({k: v for k, v in result[name].items() if k != "per_type"}))
    for name in ["rules", "linear"]:
        r = result[name]
        print(name, "CV", round(r["cv_tune"]["agreement"], 3), "held-out", round(r["heldout"]["agreement"], 3),
              {t: (v["recall"], v["precision"], v["support"]) for t, v in r["heldout"]["per_type"].items()})
    print("rules thresholds", result["rules"]["thresholds"])
    print("linear prototypes", result["linear"]["prototypes_right"], "/", result["linear"]["prototypes"])
    print("shipped", result["shipped"], "; labelled maps rule 1 decides:", result["linear"]["labelled_maps_rule1_decides"])
    print("kappa", result["kappa"], "on", result["double_labelled"])


# --- the final fit on all of v2, and the fresh set v3 ----------------------------------------------

V3 = os.path.join(HERE, "labelled", "v3")
# Fixed before the fit (and before v3 was labelled): the setting shipped is the one with the best
# leave-one-text-out agreement over all 22 v2 texts among those whose cross-validated
# heterogeneous recall is >= 0.72 at precision >= 0.65 (a margin over the 0.70 / 0.60,
# for the optimism of choosing among settings); if none qualifies, the one with the best
# heterogeneous F1.
FINAL_RULE = {"heterogeneous_recall": 0.72, "heterogeneous_precision": 0.65}
# v6's fit (--rule-recall 0.75, written down before v6 was drawn): on both fresh sets the v4 model
# was scored on, its heterogeneous recall came out below its CV recall (0.69 -> 0.72 and 0.61)
# and its precision above (0.68 -> 0.79 and 0.80), so the margin goes to recall; the fallback, when
# no setting has both, is the highest CV heterogeneous recall among the settings with CV precision
# >= 0.65 and CV agreement >= 0.85 (then the best F1, as before).
FINAL_LAMBDAS = [1e-3, 3e-3, 1e-2, 3e-2]
FINAL_HET_BIASES = [-0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0]
FINAL_HET_BIASES_V6 = FINAL_HET_BIASES + [1.25, 1.5]  # with --rule-recall (v6's fit)


def option(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def final_fit():
    """--all [--sets v2,v3 --out v4]: fit on every labelled map of the sets (default v2), settings
    by leave-one-text-out CV over all their texts; writes labelled/<out>/frozen-model.json
    (default v3; the constants PatternClassifier ships)."""
    sets = option("--sets", "v2").split(",")
    rule = dict(FINAL_RULE, heterogeneous_recall=float(option("--rule-recall", FINAL_RULE["heterogeneous_recall"])))
    target = os.path.join(HERE, "labelled", option("--out", "v3"))
    maps, label_of = [], {}
    for name in sets:
        data = json.load(open(os.path.join(HERE, "labelled", name, "maps.json")))
        labels = json.load(open(os.path.join(HERE, "labelled", name, "labels.json")))
        maps += [m for m in data["maps"] if m["id"] in labels["labels"]]
        label_of.update({k: v["label"] for k, v in labels["labels"].items()})
    y_all = np.array([TYPES.index(label_of[m["id"]]) for m in maps])
    text = np.array([m["text_id"] for m in maps])
    F = [m["features"] for m in maps]
    X_all = np.array([scores(f) for f in F])
    pair_all = X_all[:, -1] > 0.5
    texts = sorted(set(text))
    fitter = Fitter(X_all, y_all, pair_all, np.arange(len(maps)))
    Xp, yp, mean, std, standard, fit_on = fitter.Xp, fitter.yp, fitter.mean, fitter.std, fitter.standard, fitter.fit_on
    protos = list(zip(fitter.F_protos, yp))

    guard_all = no_structure(F)
    settings = []
    for lam in FINAL_LAMBDAS:
        # one fit per fold and lambda; the heterogeneous bias only shifts a logit afterwards
        folds = []
        for held_text in texts:
            test = np.where(text == held_text)[0]
            train = np.where(text != held_text)[0]
            folds.append((test, fit_on(train, lam, 0.0)))
        for het_bias in (FINAL_HET_BIASES_V6 if "--rule-recall" in sys.argv else FINAL_HET_BIASES):
            pred = np.zeros(len(maps), dtype=int)
            for test, (W, b) in folds:
                b2 = b.copy()
                b2[4] += het_bias
                pred[test] = predict(W, b2, standard(X_all[test]), pair_all[test], guard_all[test])[0]
            r = report(y_all, pred)
            h = r["per_type"]["heterogeneous"]
            rec, prec = h["recall"] or 0.0, h["precision"] or 0.0
            f1 = 2 * rec * prec / (rec + prec) if rec + prec > 0 else 0.0
            ok = bool(rec >= rule["heterogeneous_recall"] and prec >= rule["heterogeneous_precision"])
            settings.append({"lambda": lam, "heterogeneous_bias": het_bias, "cv_agreement": float(r["agreement"]),
                             "cv_heterogeneous_recall": float(rec), "cv_heterogeneous_precision": float(prec),
                             "cv_heterogeneous_f1": float(f1), "meets_rule": ok, "cv": r})
            print(f"lambda {lam} het bias {het_bias:+.2f}: CV agreement {r['agreement']:.3f}, heterogeneous "
                  f"recall {rec:.2f} precision {prec:.2f}{'  (meets rule)' if ok else ''}", file=sys.stderr)
    qualified = [s for s in settings if s["meets_rule"]]
    recall_first = [s for s in settings if s["cv_heterogeneous_precision"] >= rule["heterogeneous_precision"]
                    and s["cv_agreement"] >= 0.85]
    if qualified:
        chosen = max(qualified, key=lambda s: s["cv_agreement"])
    elif "--rule-recall" in sys.argv and recall_first:
        chosen = max(recall_first, key=lambda s: (s["cv_heterogeneous_recall"], s["cv_agreement"]))
    else:
        chosen = max(settings, key=lambda s: s["cv_heterogeneous_f1"])
    W, b = fit_on(np.arange(len(maps)), chosen["lambda"], chosen["heterogeneous_bias"])
    proto_pred = predict(W, b, standard(Xp), Xp[:, -1] > 0.5, no_structure([f for f, _ in protos]))[0]
    fitted = predict(W, b, standard(X_all), pair_all, guard_all)[0]
    out = {"fitted_on": f"all labelled maps of {', '.join(sets)} ({len(texts)} texts)", "maps": int(len(maps)),
           "rule": rule,
           "chosen_by_rule": bool(qualified), "lambda": chosen["lambda"],
           "heterogeneous_bias": chosen["heterogeneous_bias"], "cv_all_texts": chosen["cv"],
           "settings": [{k: v for k, v in s.items() if k != "cv"} for s in settings],
           "training_fit": report(y_all, fitted),
           "prototypes_right": int(np.sum(proto_pred == yp)), "prototypes": int(len(yp)),
           "mean": mean.tolist(), "std": std.tolist(), "W": W.tolist(), "b": b.tolist(),
           "inputs": SCORE_NAMES, "structure_floor": STRUCTURE_FLOOR}
    os.makedirs(target, exist_ok=True)
    json.dump(out, open(os.path.join(target, "frozen-model.json"), "w"), indent=1)
    h = chosen["cv"]["per_type"]["heterogeneous"]
    print(f"chosen lambda {chosen['lambda']} bias {chosen['heterogeneous_bias']} (rule met: {bool(qualified)}): "
          f"CV agreement {chosen['cv_agreement']:.3f}, heterogeneous {h['recall']:.2f} / {h['precision']:.2f}; "
          f"prototypes {out['prototypes_right']}/{out['prototypes']}")
    print_swift(out)


def print_swift(m):
    def arr(v):
        return "[" + ", ".join(f"{x:.7g}" for x in v) + "]"
    print("    static let mean: [Float] = " + arr(m["mean"]))
    print("    static let scale: [Float] = " + arr(m["std"]))
    print("    static let weights: [[Float]] = [")
    for row in m["W"]:
        print("        " + arr(row) + ",")
    print("    ]")
    print("    static let bias: [Float] = " + arr(m["b"]))


def fresh():
    """--fresh [--set v4[,v5]] [--model v4]: the frozen model (labelled/<model>/frozen-model.json;
    default: the set's own) on fresh sets, scored once. One set: writes labelled/<set>/evaluation.json;
    several: pooled, written to the last set's evaluation-pooled.json."""
    names = option("--set", "v3").split(",")
    V3 = os.path.join(HERE, "labelled", names[-1])
    m = json.load(open(os.path.join(HERE, "labelled", option("--model", names[-1]), "frozen-model.json")))
    maps, labels = [], {"labels": {}, "second": {}, "calibration": {}}
    for name in names:
        data = json.load(open(os.path.join(HERE, "labelled", name, "maps.json")))
        lab = json.load(open(os.path.join(HERE, "labelled", name, "labels.json")))
        maps += [e for e in data["maps"] if e["id"] in lab["labels"]]
        for k in labels:
            labels[k].update(lab.get(k, {}))
    y = np.array([TYPES.index(labels["labels"][e["id"]]["label"]) for e in maps])
    F = [e["features"] for e in maps]
    X = np.array([scores(f) for f in F])
    pair = X[:, -1] > 0.5
    W, b, mean, std = (np.array(m[k]) for k in ("W", "b", "mean", "std"))
    pred = predict(W, b, (X - mean) / std, pair, no_structure(F))[0]
    old = np.array([old_rules(f) for f in F])
    out = {"sets": names, "maps": int(len(maps)), "texts": sorted({e["text_id"] for e in maps}),
           "frozen_model": report(y, pred), "old_rules": report(y, old)}
    second = labels.get("second", {})
    shared = [i for i in labels["labels"] if i in second]
    out["double_labelled"] = len(shared)
    if shared:
        a = [TYPES.index(labels["labels"][i]["label"]) for i in shared]
        c = [TYPES.index(second[i]) for i in shared]
        out["kappa"] = kappa(a, c)
        out["raw_agreement_between_labellers"] = float(np.mean(np.array(a) == np.array(c)))
    calib = labels.get("calibration", {})
    if calib:
        v2 = json.load(open(os.path.join(V2, "labels.json")))["labels"]
        ids = [i for i in calib if i in v2]
        a = [TYPES.index(v2[i]["label"]) for i in ids]
        c = [TYPES.index(calib[i]) for i in ids]
        out["calibration_v2_maps"] = len(ids)
        out["calibration_kappa_vs_v2"] = kappa(a, c)
        out["calibration_agreement_vs_v2"] = float(np.mean(np.array(a) == np.array(c)))
    if "--bootstrap" in sys.argv:
        out["bootstrap"] = bootstrap_by_text(maps, y, pred, int(option("--bootstrap", "2000")))
    out["predicted"] = {e["id"]: TYPES[p] for e, p in zip(maps, pred)}
    name = "evaluation.json" if len(names) == 1 else "evaluation-pooled.json"
    json.dump(out, open(os.path.join(V3, name), "w"), indent=1)
    r = out["frozen_model"]
    print(f"frozen model on {'+'.join(names)}:", round(r["agreement"], 3),
          {t: (v["recall"], v["precision"], v["support"]) for t, v in r["per_type"].items()})
    print(f"old rules on {'+'.join(names)}:", round(out["old_rules"]["agreement"], 3))
    print("confusion (rows = label, cols = predicted; V D V+D B H):", r["confusion"])
    for k in ("kappa", "raw_agreement_between_labellers", "calibration_kappa_vs_v2", "calibration_agreement_vs_v2"):
        if k in out:
            print(k, round(out[k], 3))
    if "bootstrap" in out:
        print("bootstrap over texts (2.5 / 50 / 97.5 %):", out["bootstrap"])


def bootstrap_by_text(maps, y, pred, rounds, seed=20261307):
    """--bootstrap N: resample the texts (all 72 maps of each) with replacement N times; the 2.5,
    50 and 97.5 percentiles of agreement and heterogeneous recall and precision. Maps of one text
    are not independent, so texts, not maps, are the unit."""
    het = TYPES.index("heterogeneous")
    by_text = {}
    for k, e in enumerate(maps):
        by_text.setdefault(e["text_id"], []).append(k)
    texts = sorted(by_text)
    rng = np.random.default_rng(seed)
    stats = {"agreement": [], "heterogeneous_recall": [], "heterogeneous_precision": []}
    for _ in range(rounds):
        idx = np.concatenate([by_text[texts[i]] for i in rng.integers(0, len(texts), len(texts))])
        yy, pp = y[idx], pred[idx]
        stats["agreement"].append(np.mean(yy == pp))
        if (yy == het).any():
            stats["heterogeneous_recall"].append(np.mean(pp[yy == het] == het))
        if (pp == het).any():
            stats["heterogeneous_precision"].append(np.mean(yy[pp == het] == het))
    return {"rounds": rounds, "seed": seed, **{k: [round(float(np.percentile(v, q)), 3) for q in (2.5, 50, 97.5)]
                                               for k, v in stats.items()}}


if __name__ == "__main__":
    if "--all" in sys.argv[1:]:
        final_fit()
    elif "--fresh" in sys.argv[1:]:
        fresh()
    else:
        main()
