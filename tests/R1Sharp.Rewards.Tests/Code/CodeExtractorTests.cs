using R1Sharp.Rewards.Code;

namespace R1Sharp.Rewards.Tests.Code;

public class CodeExtractorTests
{
    [Fact]
    public void Takes_the_last_python_block()
    {
        const string completion = "<think>\nfirst try:\n```python\nprint(1)\n```\n</think>\nFinal:\n```python\nprint(2)\n```\nDone.";
        Assert.Equal("print(2)\n", CodeExtractor.LastProgram(completion, CodeLanguages.Python));
    }

    [Fact]
    public void Prefers_a_tagged_block_to_a_later_untagged_one()
    {
        const string completion = "```py\nprint(1)\n```\nExample input:\n```\n3 4\n```\n";
        Assert.Equal("print(1)\n", CodeExtractor.LastProgram(completion, CodeLanguages.Python));
    }

    [Fact]
    public void Falls_back_to_an_untagged_block_but_never_another_language()
    {
        Assert.Equal("print(3)\n", CodeExtractor.LastProgram("```\nprint(3)\n```", CodeLanguages.Python));
        Assert.Null(CodeExtractor.LastProgram("```bash\necho hi\n```", CodeLanguages.Python));
        Assert.Equal("echo hi\n", CodeExtractor.LastProgram("```bash\necho hi\n```", CodeLanguages.Bash));
    }

    [Fact]
    public void Ignores_an_unclosed_block_and_text_without_fences()
    {
        Assert.Null(CodeExtractor.LastProgram("no code here", CodeLanguages.Python));
        Assert.Null(CodeExtractor.LastProgram("```python\nprint(1)\n", CodeLanguages.Python));
        Assert.Equal("a=1\n", CodeExtractor.LastProgram("```python\na=1\n```\n```python\ntruncated", CodeLanguages.Python));
    }

    [Fact]
    public void Handles_longer_fences_tildes_indentation_and_tag_case()
    {
        const string nested = "````Python3\nprint('```')\n```\nstill code\n````\n";
        Assert.Equal("print('```')\n```\nstill code\n", CodeExtractor.LastProgram(nested, CodeLanguages.Python));
        Assert.Equal("x = 1\n", CodeExtractor.LastProgram("~~~python\nx = 1\n~~~", CodeLanguages.Python));
        Assert.Equal("if x:\n  y\n", CodeExtractor.LastProgram("  ```python\n  if x:\n    y\n  ```", CodeLanguages.Python));
        Assert.Equal("x\n", CodeExtractor.LastProgram("```python title=\"a.py\"\r\nx\r\n```", CodeLanguages.Python));
    }
}
