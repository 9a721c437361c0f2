using R1Sharp.Text.Templates;
using R1Sharp.Text.Templates.Jinja;

namespace R1Sharp.Text.Tests.Templates;

/// <summary>Unsupported or invalid syntax fails at parse time with line and column; runtime failures say where.</summary>
public class TemplateErrorTests
{
    [Theory]
    [InlineData("a\n{% if x %}\n  {{ foo( }}\n{% endif %}", 3, 11, "unexpected '}', expected ')'")]
    [InlineData("{{ x }}\n{{ x | nosuchfilter }}", 2, 8, "No filter named 'nosuchfilter'.")]
    [InlineData("{% if x is nosuchtest %}{% endif %}", 1, 12, "No test named 'nosuchtest'.")]
    [InlineData("line one\n  {% include 'other.jinja' %}", 2, 6, "tag 'include' is not supported")]
    [InlineData("{% for x in y %}\n{% endif %}", 2, 4, "Encountered unknown tag 'endif'")]
    [InlineData("{% if true %}\nnever closed", 2, 13, "Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'.")]
    [InlineData("{% for x in y recursive %}{% endfor %}", 1, 15, "recursive for loops are not supported")]
    [InlineData("{% break %}", 1, 4, "'break' outside of a loop")]
    [InlineData("{{ 'unterminated }}", 1, 4, "unexpected end of string")]
    [InlineData("{# comment", 1, 1, "Missing end of comment tag")]
    [InlineData("{{ a ! b }}", 1, 6, "unexpected char '!'")]
    public void Syntax_errors_have_line_and_column(string source, int line, int column, string message)
    {
        var ex = Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.Parse(source));
        Assert.Contains(message, ex.Message);
        Assert.Equal((line, column), (ex.Line, ex.Column));
        Assert.StartsWith($"line {line}, column {column}: ", ex.Message);
    }

    [Fact]
    public void Raise_exception_carries_the_templates_message()
    {
        var t = ChatTemplate.Parse(
            "{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}" +
            "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{{ m['content'] }}{% endfor %}");
        var ex = Assert.Throws<TemplateRaisedException>(() => t.Render([ChatMessage.User("a"), ChatMessage.User("b")], false));
        Assert.Equal("Conversation roles must alternate user/assistant/user/assistant/...", ex.Message);
        Assert.Equal("ab", t.Render([ChatMessage.User("a"), ChatMessage.Assistant("b")], false));
    }

    [Fact]
    public void Runtime_errors_say_what_and_where()
    {
        var t = ChatTemplate.Parse("{% for m in messages %}\n  {{ m.content + m.missing.deeper }}\n{% endfor %}");
        var ex = Assert.Throws<TemplateRuntimeException>(() => t.Render([ChatMessage.User("a")], false));
        Assert.Equal(2, ex.Line);
        Assert.Contains("'dict object' has no attribute 'missing'", ex.Message);

        var typeError = Assert.Throws<TemplateRuntimeException>(() => ChatTemplate.Parse("{{ 'a' + 1 }}").Render([], false));
        Assert.Contains("can only concatenate str (not \"int\") to str", typeError.Message);
    }

    [Fact]
    public void Lists_and_dicts_cannot_be_modified()
    {
        var ex = Assert.Throws<TemplateRuntimeException>(() => JinjaTemplate.Parse("{% set l = [1] %}{{ l.append(2) }}").Render(new Dictionary<string, object?>()));
        Assert.Contains("access to attribute 'append' of 'list' object is unsafe", ex.Message);
    }

    [Fact]
    public void Context_cannot_override_the_render_arguments()
    {
        var t = ChatTemplate.Parse("{{ messages|length }}");
        Assert.Throws<ArgumentException>(() => t.Render([], false, new Dictionary<string, object?> { ["messages"] = new List<object?>() }));
    }

    [Fact]
    public void Bad_tool_calls_json_names_the_message()
    {
        var t = ChatTemplate.Parse("{{ messages|length }}");
        var ex = Assert.Throws<ArgumentException>(() => t.Render([ChatMessage.User("a"), new ChatMessage("assistant", "") { ToolCallsJson = "[{" }], false));
        Assert.Contains("messages[1]", ex.Message);
        Assert.Contains("ToolCallsJson", ex.Message);
    }

    [Fact]
    public void Tokenizer_config_problems_name_the_file_and_field()
    {
        var noTemplate = Assert.Throws<FormatException>(() => ChatTemplate.FromTokenizerConfigJson("""{"eos_token": "</s>"}""", sourceName: "cfg.json"));
        Assert.Contains("cfg.json", noTemplate.Message);
        Assert.Contains("'chat_template'", noTemplate.Message);
        var badJson = Assert.Throws<FormatException>(() => ChatTemplate.FromTokenizerConfigJson("{\n \"chat_template\": ", sourceName: "cfg.json"));
        Assert.Contains("cfg.json: invalid JSON at line 2", badJson.Message);
        var badSyntax = Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.FromTokenizerConfigJson("""{"chat_template": "{% if %}"}""", sourceName: "cfg.json"));
        Assert.Contains("cfg.json, field 'chat_template'", badSyntax.Message);
    }

    [Fact]
    public void Named_templates_in_a_list()
    {
        const string json = """{"chat_template": [{"name": "default", "template": "D{{ messages|length }}"}, {"name": "tool_use", "template": "T"}], "bos_token": {"content": "<s>", "lstrip": false}}""";
        Assert.Equal("D0", ChatTemplate.FromTokenizerConfigJson(json).Render([], false));
        Assert.Equal("T", ChatTemplate.FromTokenizerConfigJson(json, "tool_use").Render([], false));
        Assert.Equal("<s>", ChatTemplate.FromTokenizerConfigJson(json).DefaultContext["bos_token"]);
        Assert.Throws<FormatException>(() => ChatTemplate.FromTokenizerConfigJson(json, "rag"));
    }

    [Fact]
    public void Chat_template_jinja_file_takes_priority_over_the_config()
    {
        string dir = Directory.CreateTempSubdirectory("r1sharp-template-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"chat_template": "from config", "eos_token": "</s>"}""");
            Assert.Equal("from config", ChatTemplate.FromTokenizerConfig(dir).Render([], false));
            File.WriteAllText(Path.Combine(dir, "chat_template.jinja"), "from file {{ eos_token }}\n");
            Assert.Equal("from file </s>", ChatTemplate.FromTokenizerConfig(Path.Combine(dir, "tokenizer_config.json")).Render([], false));
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"eos_token": "</s>"}""");
            Assert.Equal("from file </s>", ChatTemplate.FromTokenizerConfig(dir).Render([], false));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
