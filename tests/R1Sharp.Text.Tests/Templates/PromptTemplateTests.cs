using R1Sharp.Text.Templates;

namespace R1Sharp.Text.Tests.Templates;

public class PromptTemplateTests
{
    [Fact]
    public void R1_zero_is_the_paper_template_verbatim()
    {
        // DeepSeek-R1 paper, Table 1.
        const string expected =
            "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: What is 2+3?. Assistant:";
        Assert.Equal(expected, PromptTemplate.Get("r1-zero").Format("What is 2+3?"));
    }

    [Fact]
    public void Plain_question_answer()
    {
        Assert.Equal("Question: Compute \\boxed{x} for {prompt}-like braces\nAnswer:",
            PromptTemplate.Plain.Format("Compute \\boxed{x} for {prompt}-like braces"));
    }

    [Fact]
    public void Registry_has_the_presets_and_rejects_unknown_names()
    {
        Assert.Equal(["chat", "plain", "r1-zero"], PromptTemplate.Presets.Keys.Order());
        var ex = Assert.Throws<ArgumentException>(() => PromptTemplate.Get("r1"));
        Assert.Contains("r1-zero", ex.Message);
    }

    [Fact]
    public void Chat_preset_uses_the_tokenizers_template_with_generation_prompt()
    {
        var qwen3 = ChatTemplate.FromTokenizerConfig(TemplateFixtures.Path("tests", "fixtures", "tokenizers", "qwen3", "tokenizer_config.json"));
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n",
            PromptTemplate.Get("chat").Render("2+3?", qwen3, systemPrompt: "Be brief."));
        Assert.Equal("<|im_start|>user\n2+3?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
            PromptTemplate.Chat.Render("2+3?", qwen3, extraContext: new Dictionary<string, object?> { ["enable_thinking"] = false }));
        Assert.Throws<InvalidOperationException>(() => PromptTemplate.Chat.Format("x"));
        Assert.Throws<ArgumentNullException>(() => PromptTemplate.Chat.Render("x"));
    }

    [Fact]
    public void Custom_text_templates_need_the_placeholder()
    {
        Assert.Equal("Q: hi A:", PromptTemplate.FromText("qa", "Q: {prompt} A:").Render("hi"));
        Assert.Throws<ArgumentException>(() => PromptTemplate.FromText("bad", "no placeholder"));
    }
}
