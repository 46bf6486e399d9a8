"""Metric gates such as "f1 >= 0.85": parsed with a pattern and compared with operator
functions, never evaluated as code."""

import operator
import re
from dataclasses import asdict, dataclass

GATE_PATTERN = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_.\-/]*)\s*(?P<op>>=|<=|==|!=|>|<)\s*"
    r"(?P<threshold>[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)\s*$"
)
OPERATORS = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


class GateSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Gate:
    metric: str
    op: str
    threshold: float

    def __str__(self):
        return f"{self.metric} {self.op} {self.threshold:g}"


@dataclass(frozen=True)
class GateResult:
    gate: str
    metric: str
    value: float | None
    passed: bool

    def as_dict(self) -> dict:
        return asdict(self)


def parse_gates(text: str) -> list[Gate]:
    """One gate per non-empty line; raises GateSyntaxError naming the first bad line."""
    gates = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = GATE_PATTERN.match(line)
        if match is None:
            raise GateSyntaxError(f"line {number}: {line.strip()!r} is not like 'metric >= 0.85'")
        gates.append(Gate(match["metric"], match["op"], float(match["threshold"])))
    return gates


def evaluate_gates(gates: list[Gate], metrics: dict[str, float]) -> list[GateResult]:
    """A gate on a metric the run did not log fails."""
    results = []
    for gate in gates:
        value = metrics.get(gate.metric)
        passed = value is not None and OPERATORS[gate.op](float(value), gate.threshold)
        results.append(GateResult(str(gate), gate.metric, value, passed))
    return results
