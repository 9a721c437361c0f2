namespace R1Sharp.Text.Templates;

/// <summary>
/// A chat template failed to parse or to render. <see cref="Line"/> and <see cref="Column"/> (1-based, in the
/// template source after newline normalisation) say where; 0 when unknown.
/// </summary>
public class TemplateException : Exception
{
    public TemplateException(string message, int line = 0, int column = 0, Exception? inner = null)
        : base(message, inner)
    {
        Line = line;
        Column = column;
    }

    public int Line { get; }
    public int Column { get; }

    /// <summary>The message without the position prefix.</summary>
    public virtual string Detail => Message;

    internal static string WithPosition(string message, int line, int column) =>
        line > 0 ? $"line {line}, column {column}: {message}" : message;
}

/// <summary>The template source is not valid Jinja, or uses syntax this interpreter does not support.</summary>
public sealed class TemplateSyntaxException : TemplateException
{
    public TemplateSyntaxException(string detail, int line, int column)
        : base(WithPosition(detail, line, column), line, column) => Detail = detail;

    /// <summary>The same error, said of the template held by <paramref name="origin"/> (a file, or a file's field).</summary>
    /// <param name="detail">What is wrong.</param>
    /// <param name="line">1-based line in the template, 0 if unknown.</param>
    /// <param name="column">1-based column, 0 if unknown.</param>
    /// <param name="origin">Where the template came from, e.g. "/m/chat_template.jinja" or "/m/tokenizer_config.json, field 'chat_template'".</param>
    public TemplateSyntaxException(string detail, int line, int column, string origin)
        : base(line > 0 ? $"{origin}, line {line}, column {column}: {detail}" : $"{origin}: {detail}", line, column)
    {
        Detail = detail;
        Origin = origin;
    }

    public override string Detail { get; }

    /// <summary>The file (and field) holding the template, when the template was loaded from one.</summary>
    public string? Origin { get; }
}

/// <summary>Rendering failed the way Python would (undefined value used, type error, division by zero, ...).</summary>
public sealed class TemplateRuntimeException : TemplateException
{
    public TemplateRuntimeException(string detail, int line = 0, int column = 0)
        : base(WithPosition(detail, line, column), line, column) => Detail = detail;

    public override string Detail { get; }

    internal bool HasPosition => Line > 0;

    internal TemplateRuntimeException At(int line, int column) => HasPosition ? this : new(Detail, line, column);
}

/// <summary>
/// The template called <c>raise_exception(msg)</c> (as Hugging Face templates do to reject a conversation, e.g.
/// "Conversation roles must alternate user/assistant/user/assistant/..."). <see cref="Exception.Message"/> is
/// exactly <c>msg</c>.
/// </summary>
public sealed class TemplateRaisedException(string message, int line = 0, int column = 0)
    : TemplateException(message, line, column);
