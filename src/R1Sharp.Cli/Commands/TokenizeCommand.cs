using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using R1Sharp.Data;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Cli.Commands;

/// <summary><c>r1sharp tokenize --tokenizer DIR (--text T | --input FILE.jsonl) [--output FILE]</c>: {"text"} rows in, {"ids"} rows out.</summary>
public static class TokenizeCommand
{
    public static Command Create()
    {
        var tokenizerDir = new Option<string>("--tokenizer") { Description = "Folder with tokenizer.json (and tokenizer_config.json), e.g. a model folder.", Required = true };
        var text = new Option<string?>("--text") { Description = "One text to tokenize." };
        var input = new Option<string?>("--input", "-i") { Description = "JSONL file of {\"text\": …} rows." };
        var output = new Option<string?>("--output", "-o") { Description = "Write the {\"ids\": […]} rows here (default: standard output)." };
        var special = new Option<bool>("--add-special-tokens") { Description = "Add BOS/EOS as the tokenizer's config says (default: off, like add_special_tokens=False)." };
        var command = new Command("tokenize", "Turn text into token ids exactly as Hugging Face tokenizers does; one output row per input row, same order.")
        { tokenizerDir, text, input, output, special };
        command.SetAction(r =>
        {
            string? t = r.GetValue(text), file = r.GetValue(input);
            if ((t is null) == (file is null)) throw new UserError("give exactly one of --text and --input");
            if (r.GetValue(output) is { } target && Directory.Exists(target))
                throw new UserError($"--output: {target} is a folder; expected a file path for the {{\"ids\"}} rows");
            var tokenizer = HfTokenizer.Load(r.GetValue(tokenizerDir)!);
            bool addSpecial = r.GetValue(special);
            var rows = t is not null ? [t] : ReadTexts(file!);
            string Line(string s) => new JsonObject { ["ids"] = new JsonArray(tokenizer.Encode(s, addSpecial).Select(i => (JsonNode)i).ToArray()) }.ToJsonString();

            JsonlOutput.Write(r.GetValue(output), rows.Select(Line));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Reads every row first, so a bad row fails before anything is written. The rows are read as every data file is
    /// (<see cref="DataRows"/>: UTF-8, no repeated key, a JSON array or Parquet too); a blank line between rows is an error,
    /// since it would shift every output row after it.
    /// </summary>
    static List<string> ReadTexts(string path)
    {
        if (Directory.Exists(path)) throw new UserError($"--input: {path} is a folder; expected a JSONL file of {{\"text\": …}} rows");
        if (!File.Exists(path)) throw new UserError($"--input: {path}: no such file");
        var texts = new List<string>();
        foreach (var row in DataRows.Read(path))
        {
            if (row.Line != texts.Count + 1) throw new UserError($"{path}:{texts.Count + 1}: empty line (every row needs a \"text\" field)");
            texts.Add(row["text"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
                : throw new UserError($"{path}:{row.Line}: field 'text' is missing or not a string"));
        }
        return texts;
    }
}
