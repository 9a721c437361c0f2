using System.CommandLine;
using R1Sharp.Data;
using R1Sharp.Text.Tokenization;

namespace R1Sharp.Cli.Commands;

/// <summary><c>r1sharp tokenizer train --input FILE... --output DIR [--vocab-size N]</c>: a byte-level BPE saved as tokenizer.json.</summary>
public static class TokenizerCommand
{
    public static Command Create()
    {
        var input = new Option<string[]>("--input", "-i") { Description = "Text files (.txt: the whole file; .jsonl: the \"text\" field of each row). Repeatable.", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--output", "-o") { Description = "Folder to write tokenizer.json and tokenizer_config.json into.", Required = true };
        var vocab = new Option<int>("--vocab-size") { Description = "Vocabulary size including the 256 byte tokens and the special tokens.", DefaultValueFactory = _ => 4096 };
        var minFrequency = new Option<int>("--min-frequency") { Description = "Merge a pair only if it occurs at least this often.", DefaultValueFactory = _ => 2 };
        var special = new Option<string[]>("--special") { Description = "Special tokens (repeatable); the first is also EOS and PAD.", DefaultValueFactory = _ => ["<|endoftext|>"], AllowMultipleArgumentsPerToken = false };
        var split = new Option<string>("--split") { Description = "Pre-tokenizer regex (default: Qwen2's; digits are single tokens).", DefaultValueFactory = _ => BpeTrainerOptions.Qwen2SplitPattern };
        var added = new Option<string[]>("--added") { Description = "Added tokens that are not special, kept whole and kept when decoding (repeatable), e.g. --added \"<think>\" --added \"</think>\".", AllowMultipleArgumentsPerToken = false };
        var train = new Command("train", "Train a byte-level BPE tokenizer (Hugging Face tokenizer.json format) from text.") { input, output, vocab, minFrequency, special, added, split };
        train.SetAction(r =>
        {
            var texts = r.GetValue(input)!.SelectMany(ReadTexts).ToList();
            var specials = r.GetValue(special)!;
            var tokenizer = new BpeTrainer(new BpeTrainerOptions
            {
                VocabSize = r.GetValue(vocab), MinFrequency = r.GetValue(minFrequency), SpecialTokens = specials,
                EosToken = specials.FirstOrDefault(), PadToken = specials.FirstOrDefault(), SplitPattern = r.GetValue(split)!,
                AddedTokens = [.. (r.GetValue(added) ?? []).Select(a => new AddedTokenSpec(a))],
            }).Train(texts);
            tokenizer.Save(r.GetValue(output)!);
            Console.WriteLine($"{texts.Count:N0} texts → {tokenizer.VocabSize:N0} tokens, saved to {r.GetValue(output)}");
            return 0;
        });
        return new Command("tokenizer", "Tokenizer tools.") { train };
    }

    static IEnumerable<string> ReadTexts(string path)
    {
        if (!File.Exists(path)) throw new UserError($"{path}: no such file");
        if (!path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)) { yield return File.ReadAllText(path); yield break; }
        // As every data file is read (DataRows): errors name the file, the line and the field.
        foreach (var row in DataRows.Read(path)) yield return row.String("text");
    }
}
