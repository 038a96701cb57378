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
    """What a user reads last: rule, comparison with intervals, report path and time taken."""
    lines = [f"workspace: {result.workspace}"]
    if result.rule.exists():
        rule = load_rule(result.rule)
        lines.append(f"fitted rule: {rule_formula(result.rule)}")
        lines.append(f"  target: {rule.target.explain()}")
        cv = rule.info.get("fit", {}).get("cv_r2")
        if cv is not None:
            lines.append(f"  cross-validated R²: {cv:.3f}")
        sentences = agreement_sentences(
            rule.info.get("eval_agreement") or [], rule.info.get("source_view")
        )
        lines += [f"  {line}" for line in sentences]
    summary = result.comparison
    if summary is not None and not summary.empty:
        lines.append("selected vs others (eval loss, mean ± sd over seeds; diff = rule - other):")
        for row in summary.to_dict(orient="records"):
            spread = f"{row['mean']:.4f} ± {row['sd']:.4f} ({row['runs']} runs)"
            text = f"  {row['selector']:<8} {spread}"
            if row["selector"] != "rule" and row.get("diff") == row.get("diff"):
                text += (
                    f"; diff {row['diff']:+.4f}, 95% CI [{row['diff_low']:+.4f}, "
                    f"{row['diff_high']:+.4f}] ({row['method']})"
                )
            lines.append(text)
    if result.report is not None:
        lines.append(f"report: {result.report.resolve()}")
    lines.append(f"finished in {seconds / 60:.1f} min")
    return "\n".join(lines)
