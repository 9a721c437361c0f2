using System.Text.Json.Nodes;
using R1Sharp.Engine.Generation;
using R1Sharp.Tests;
using R1Sharp.Text.Templates;

namespace R1Sharp.Server.Tests;

/// <summary>
/// A chat template that does not parse stops <c>serve</c> and <c>chat</c> at start with exit code 1 and one line
/// naming the file that holds the template (tokenizer_config.json's field, or chat_template.jinja, which wins over
/// it) and the line of the error. A template that parses but fails on a conversation is a per-request 400 (serve)
/// or a per-turn error line (chat).
/// </summary>
public sealed class BrokenTemplateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("r1sharp-template-").FullName;

    public BrokenTemplateTests()
    {
        foreach (var file in Directory.GetFiles(TinyModel.Directory))
            File.Copy(file, Path.Combine(_dir, Path.GetFileName(file)));
        File.Delete(Path.Combine(_dir, "chat_template.jinja"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config => Path.Combine(_dir, "tokenizer_config.json");
    private string Jinja => Path.Combine(_dir, "chat_template.jinja");

    /// <summary>Line 2 of this template has an if without a condition.</summary>
    private const string Broken = "{{ bos_token }}\n{% if %}x{% endif %}";

    private void SetConfigTemplate(string template)
    {
        var config = JsonNode.Parse(File.ReadAllText(Config))!.AsObject();
        config["chat_template"] = template;
        File.WriteAllText(Config, config.ToJsonString());
    }

    public enum Layout { ConfigField, JinjaBesideConfig, JinjaAlone }

    /// <summary>Breaks the template where <paramref name="layout"/> says; returns what the error must name.</summary>
    private string Break(Layout layout)
    {
        switch (layout)
        {
            case Layout.ConfigField:
                SetConfigTemplate(Broken);
                return $"{Config}, field 'chat_template', line 2";
            case Layout.JinjaBesideConfig:
                File.WriteAllText(Jinja, Broken); // the config's own template is fine: the jinja file is at fault
                return $"{Jinja}, line 2";
            default:
                File.WriteAllText(Jinja, Broken);
                File.Delete(Config);
                return $"{Jinja}, line 2";
        }
    }

    [Theory]
    [InlineData(Layout.ConfigField)]
    [InlineData(Layout.JinjaBesideConfig)]
    [InlineData(Layout.JinjaAlone)]
    public void Load_NamesTheFileThatHoldsTheTemplate(Layout layout)
    {
        string expected = Break(layout);
        var e = Assert.Throws<TemplateSyntaxException>(() => LocalModel.Load(_dir));
        Assert.StartsWith(expected, e.Message);
        Assert.Equal(2, e.Line);
        if (layout == Layout.JinjaBesideConfig) Assert.DoesNotContain("tokenizer_config.json", e.Message);
    }

    [Theory]
    [InlineData(Layout.ConfigField)]
    [InlineData(Layout.JinjaBesideConfig)]
    [InlineData(Layout.JinjaAlone)]
    public async Task Serve_Exits1_WithOneLineNamingTheFile(Layout layout)
    {
        string expected = Break(layout);
        var (code, stdout, stderr) = await CliProcessTests.Run("", "serve", "--model", _dir, "--port", "0", "--quiet");
        Assert.Equal(1, code);
        Assert.DoesNotContain("listening on", stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith($"error: the chat template does not parse: {expected}", lines[0]);
        Assert.DoesNotContain("Unhandled", stderr);
    }

    [Fact]
    public async Task Chat_Exits1_WithOneLineNamingTheFile()
    {
        string expected = Break(Layout.JinjaBesideConfig);
        var (code, _, stderr) = await CliProcessTests.Run("hi\n", "chat", "--model", _dir);
        Assert.Equal(1, code);
        Assert.StartsWith($"error: the chat template does not parse: {expected}", stderr.Trim());
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public async Task TemplateThatRefusesAConversation_Serve400_ChatSaysSoAndGoesOn()
    {
        // Parses; raises on a conversation with a system message (as Hugging Face templates reject conversations).
        SetConfigTemplate("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System messages are not supported') }}{% endif %}" +
                          TinyCheckpoint.ChatMlTemplate);
        using (var model = LocalModel.Load(_dir))
        {
            await using var server = await OpenAiServer.StartAsync(model, new ServerOptions { Port = 0, ServedModelName = "t" });
            using var http = new HttpClient();
            using var chat = await http.PostAsync(new Uri(server.BaseAddress, "v1/chat/completions"), new StringContent(
                """{"model": "t", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}], "max_tokens": 2}""",
                System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, chat.StatusCode);
            var error = JsonNode.Parse(await chat.Content.ReadAsStringAsync())!["error"]!;
            Assert.Equal("chat_template_error", (string)error["code"]!);
            Assert.Contains("System messages are not supported", (string)error["message"]!);
            using var completion = await http.PostAsync(new Uri(server.BaseAddress, "v1/completions"), new StringContent(
                """{"model": "t", "prompt": "hi", "max_tokens": 2}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(System.Net.HttpStatusCode.OK, completion.StatusCode);
        }

        var (code, stdout, stderr) = await CliProcessTests.Run("hi\n/exit\n", "chat", "--model", _dir, "--system", "be brief", "--max-new-tokens", "2");
        Assert.True(code == 0, stderr);
        Assert.Contains("error: the chat template failed on this conversation: System messages are not supported", stdout);
    }
}
