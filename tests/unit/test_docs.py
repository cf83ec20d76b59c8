"""The README stays true to the code it describes."""

from pathlib import Path

from inventory.access.permissions import matrix_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_permission_table_is_the_one_in_code() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- permissions:start -->\n") + len("<!-- permissions:start -->\n")
    end = text.index("<!-- permissions:end -->")
    assert text[start:end] == matrix_markdown()


def test_readme_opens_with_the_two_setup_commands() -> None:
    blocks = README.read_text(encoding="utf-8").split("```")
    serve, _, comment = blocks[1].strip().partition("#")
    assert serve.strip() == "sh\npip install -e . && inventory serve --demo"
    assert "--port" in comment  # a new user sees at once how to pick another port
    assert blocks[3].strip() == "sh\npip install -e '.[test]' && pytest"
