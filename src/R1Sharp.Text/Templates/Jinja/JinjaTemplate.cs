using System.Collections.Concurrent;

namespace R1Sharp.Text.Templates.Jinja;

/// <summary>
/// A parsed Jinja template, rendered the way Hugging Face transformers renders chat templates with jinja2
/// (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loop controls, <c>{% generation %}</c>,
/// transformers' tojson, raise_exception and strftime_now). Parse once, render many times; instances are
/// immutable and thread-safe.
/// </summary>
public sealed class JinjaTemplate
{
    private const int CacheLimit = 64;
    private static readonly ConcurrentDictionary<string, JinjaTemplate> Cache = new(StringComparer.Ordinal);
    private static readonly Frame GlobalFrame = new(null, Globals.All);

    private readonly List<Stmt> _body;
    private int _lastLength = 1024; // capacity hint for the next render's output buffer (a race only costs a resize)

    private JinjaTemplate(string source, (List<Stmt> Body, bool HasGeneration) parsed)
    {
        Source = source;
        _body = parsed.Body;
        HasGenerationBlocks = parsed.HasGeneration;
    }

    /// <summary>The template text as given.</summary>
    public string Source { get; }

    /// <summary>Whether the template marks assistant output with <c>{% generation %}</c> blocks.</summary>
    public bool HasGenerationBlocks { get; }

    /// <summary>Parses (or returns the cached parse of) <paramref name="source"/>.</summary>
    /// <exception cref="TemplateSyntaxException">Invalid or unsupported syntax, with line and column.</exception>
    public static JinjaTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (Cache.TryGetValue(source, out var cached)) return cached;
        var template = new JinjaTemplate(source, Parser.Parse(source));
        if (Cache.Count >= CacheLimit) Cache.Clear();
        Cache.TryAdd(source, template);
        return template;
    }

    /// <summary>Renders with the given variables (converted as described in <see cref="ClrValues"/>).</summary>
    public string Render(IReadOnlyDictionary<string, object?> context, TimeProvider? clock = null) =>
        RenderCore(context, clock, out _);

    /// <summary>Renders and also returns the character spans produced inside <c>{% generation %}</c> blocks.</summary>
    public string Render(IReadOnlyDictionary<string, object?> context, out IReadOnlyList<(int Start, int End)> generationSpans,
        TimeProvider? clock = null)
    {
        string text = RenderCore(context, clock, out var spans);
        generationSpans = spans;
        return text;
    }

    private string RenderCore(IReadOnlyDictionary<string, object?> context, TimeProvider? clock, out List<(int, int)> spans)
    {
        var converted = new Dictionary<string, object?>(context.Count, StringComparer.Ordinal);
        foreach (var kv in context) converted[kv.Key] = ClrValues.From(kv.Value);
        return RenderConverted(converted, clock, out spans);
    }

    /// <summary>Renders a context whose values are already in the template value model.</summary>
    internal string RenderConverted(IReadOnlyDictionary<string, object?> converted, TimeProvider? clock, out List<(int, int)> spans)
    {
        var root = new Frame(new Frame(GlobalFrame, converted));
        var state = new RenderState(root, clock ?? TimeProvider.System, _lastLength + 256);
        try
        {
            Stmt.ExecBody(_body, state);
        }
        catch (Exception e) when (e is not TemplateException and not ArgumentException)
        {
            throw new TemplateRuntimeException($"{e.GetType().Name}: {e.Message}");
        }
        spans = state.GenerationSpans;
        _lastLength = state.Out.Length;
        return state.Out.ToString();
    }
}
