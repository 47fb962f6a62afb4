"""docs/PORTING.md's worked example runs as written."""
import pathlib
import re


def test_the_worked_example_runs():
    text = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "PORTING.md").read_text()
    example = text.split("## A worked example", 1)[1]
    code = re.findall(r"```python\n(.*?)```", example, re.S)[0]
    exec(compile(code, "docs/PORTING.md", "exec"), {})
