"""The closing message of a run: the fitted rule, selected vs random with its interval."""

from __future__ import annotations

from instructmining.pipeline.run import PipelineResult
from instructmining.rule import load_rule
from instructmining.rule.agreement import agreement_sentences


def rule_formula(rule_path) -> str:  # noqa: ANN001 - a Path to rule.json
    """`log L = b0 + b1·x1 + ...` for linear rules; the model kind and inputs otherwise."""
    rule = load_rule(rule_path)
    if rule.ensemble is not None or not rule.coefficients:
        return f"{rule.model} on {', '.join(rule.indicators)}"
    terms = " ".join(
        f"{'-' if beta < 0 else '+'} {abs(beta):.4g}·{name}"
        for name, beta in rule.coefficients.items()
    )
    return f"{rule.target.symbol} = {rule.intercept:.4f} {terms}"


def final_message(result: PipelineResult, seconds: float) -> str:
    """What a user reads last: the verdict, rule, comparison per evaluation set with both
    intervals, report path and time taken."""
    from instructmining.rule.verdict import rule_verdict

    lines = [f"workspace: {result.workspace}"]
    summary = result.comparison
    intervals = summary.to_dict(orient="records") if summary is not None else None
    if result.rule.exists():
        rule = load_rule(result.rule)
        info = rule.info
        lines.append(f"verdict: {rule_verdict(info, intervals)}")
        lines.append(f"fitted rule: {rule_formula(result.rule)}")
        lines.append(f"  target: {rule.target.explain()}")
        fit = info.get("fit", {})
        mixture = (info.get("mixture") or {}).get("cv_r2")
        figures = [
            f"{label} {value:{fmt}}" if isinstance(value, int | float) else f"{label} undefined"
            for value, label, fmt in (
                (fit.get("cv_r2"), "cross-validated R²", ".3f"),
                (fit.get("cv_spearman"), "CV Spearman", ".3f"),
                (fit.get("permutation_p"), "permutation p", ".3g"),
                (mixture, "mixture rule CV R²", ".3f"),
            )
        ]
        if figures:
            lines.append(f"  {'; '.join(figures)}")
        sentences = agreement_sentences(info.get("eval_agreement") or [], info.get("source_view"))
        lines += [f"  {line}" for line in sentences]
    if summary is not None and not summary.empty:
        lines.append(
            "selected vs others (eval loss, mean ± sd over seeds; diff = rule - other, 95% CIs: "
            "t = paired t over seeds, boot = paired bootstrap over items and seeds):"
        )
        if "eval_set" not in summary.columns:
            summary = summary.assign(eval_set="fit")
        for eval_set, rows in summary.groupby("eval_set", sort=False):
            lines.append(f" on {eval_set}:")
            for row in rows.to_dict(orient="records"):
                lines.append(_comparison_line(row))
    if result.report is not None:
        lines.append(f"report: {result.report.resolve()}")
    lines.append(f"finished in {seconds / 60:.1f} min")
    return "\n".join(lines)


def _comparison_line(row: dict) -> str:
    text = f"  {row['selector']:<8} {row['mean']:.4f} ± {row['sd']:.4f} ({row['runs']} runs)"
    if row["selector"] != "rule" and row.get("diff") == row.get("diff"):
        text += f"; diff {row['diff']:+.4f}, t [{row['diff_low']:+.4f}, {row['diff_high']:+.4f}]"
        if row.get("boot_low") == row.get("boot_low") and "boot_low" in row:
            text += f", boot [{row['boot_low']:+.4f}, {row['boot_high']:+.4f}]"
    return text
