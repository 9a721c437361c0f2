namespace R1Sharp.Text.Tokenization;

/// <summary>
/// A tokenizer file is malformed or uses a feature this library does not implement. The message names the
/// file and the JSON path of the offending value, e.g. <c>tokenizer.json: $.model.type: unsupported model
/// type 'WordPiece' (only byte-level 'BPE' is supported)</c>.
/// </summary>
public sealed class TokenizerFormatException : FormatException
{
    public TokenizerFormatException(string file, string jsonPath, string problem, Exception? inner = null)
        : base($"{file}: {jsonPath}: {problem}", inner)
    {
        File = file;
        JsonPath = jsonPath;
        Problem = problem;
    }

    /// <summary>The file (path or name) that holds the bad value.</summary>
    public string File { get; }

    /// <summary>JSON path of the bad value, e.g. <c>$.pre_tokenizer.pretokenizers[1].type</c>.</summary>
    public string JsonPath { get; }

    /// <summary>What is wrong, without the file and path.</summary>
    public string Problem { get; }
}
