using System.Text;

namespace R1Sharp.Text.Templates.Jinja;

/// <summary>
/// One scope level. jinja2 scoping, as this interpreter reproduces it: the template body is one scope; each
/// iteration of a for loop, each macro call and each with-block gets a new scope whose assignments vanish when
/// it ends (hence <c>namespace()</c>); if-blocks do not create scopes.
/// </summary>
internal sealed class Frame(Frame? parent, IReadOnlyDictionary<string, object?>? backing = null)
{
    // A scope holds a handful of names (loop target, loop, a few sets): a linear scan beats a dictionary.
    private string[]? _names;
    private object?[]? _values;
    private int _count;

    public Frame? Parent { get; } = parent;

    private IReadOnlyDictionary<string, object?>? Backing { get; } = backing;

    private int IndexOf(string name)
    {
        for (int i = 0; i < _count; i++)
            if (ReferenceEquals(_names![i], name) || string.Equals(_names[i], name, StringComparison.Ordinal)) return i;
        return -1;
    }

    public bool TryGet(string name, out object? value)
    {
        for (var f = this; f is not null; f = f.Parent)
        {
            int i = f.IndexOf(name);
            if (i >= 0)
            {
                value = f._values![i];
                return true;
            }
            if (f.Backing is not null && f.Backing.TryGetValue(name, out value)) return true;
        }
        value = null;
        return false;
    }

    public object? Lookup(string name) => TryGet(name, out var v) ? v : Undefined.Variable(name);

    public void Set(string name, object? value)
    {
        int i = IndexOf(name);
        if (i >= 0)
        {
            _values![i] = value;
            return;
        }
        if (_names is null)
        {
            _names = new string[4];
            _values = new object?[4];
        }
        else if (_count == _names.Length)
        {
            Array.Resize(ref _names, _count * 2);
            Array.Resize(ref _values, _count * 2);
        }
        _names[_count] = name;
        _values![_count++] = value;
    }
}

internal enum Flow { Normal, Break, Continue }

/// <summary>Everything one render needs: output buffer, current scope, clock, generation spans.</summary>
internal sealed class RenderState
{
    private const int MaxCallDepth = 200;

    public RenderState(Frame frame, TimeProvider clock, int capacity = 1024)
    {
        Frame = frame;
        Clock = clock;
        Out = new StringBuilder(capacity);
        Root = Out;
    }

    public StringBuilder Out { get; set; }
    public StringBuilder Root { get; }
    public Frame Frame { get; set; }
    public TimeProvider Clock { get; }
    public List<(int Start, int End)> GenerationSpans { get; } = [];
    private int _depth;

    public void Enter()
    {
        if (++_depth > MaxCallDepth) throw new TemplateRuntimeException("maximum recursion depth exceeded");
    }

    public void Leave() => _depth--;

    /// <summary>Runs <paramref name="body"/> in <paramref name="frame"/> with output captured, as macros and set-blocks do.</summary>
    public string Capture(Frame frame, IReadOnlyList<Stmt> body)
    {
        var savedOut = Out;
        var savedFrame = Frame;
        Out = new StringBuilder();
        Frame = frame;
        try
        {
            Stmt.ExecBody(body, this);
            return Out.ToString();
        }
        finally
        {
            Out = savedOut;
            Frame = savedFrame;
        }
    }
}

/// <summary>A <c>{% macro %}</c> (or the body of a <c>{% call %}</c>, exposed to the macro as <c>caller</c>).</summary>
internal sealed class Macro(string name, string[] parameters, Expr?[] defaults, IReadOnlyList<Stmt> body, Frame definingFrame,
    bool usesVarargs, bool usesKwargs, bool usesCaller) : PyCallable
{
    public override string Name { get; } = name;
    public string[] Parameters { get; } = parameters;

    public override object? Call(RenderState state, Args args)
    {
        var frame = new Frame(definingFrame);
        int n = Parameters.Length;
        var extra = new List<object?>();
        for (int i = 0; i < args.Positional.Count; i++)
        {
            if (i < n) frame.Set(Parameters[i], args.Positional[i]);
            else extra.Add(args.Positional[i]);
        }
        var extraKw = new PyDict();
        object? caller = null;
        if (args.Named is not null)
            foreach (var kv in args.Named)
            {
                int idx = Array.IndexOf(Parameters, kv.Key);
                if (idx >= 0)
                {
                    if (idx < args.Positional.Count) throw new TemplateRuntimeException($"macro '{Name}' got multiple values for argument '{kv.Key}'");
                    frame.Set(kv.Key, kv.Value);
                }
                else if (kv.Key == "caller" && usesCaller) caller = kv.Value;
                else extraKw.Set(kv.Key, kv.Value);
            }
        if (extra.Count > 0 && !usesVarargs)
            throw new TemplateRuntimeException($"macro '{Name}' takes not more than {n} argument(s)");
        if (extraKw.Count > 0 && !usesKwargs)
            throw new TemplateRuntimeException($"macro '{Name}' takes no keyword argument '{extraKw.Entries[0].Key}'");
        // Parameters without a value get their default, evaluated in the macro's scope, else Undefined.
        for (int i = 0; i < n; i++)
        {
            if (IsBound(args, i)) continue;
            var saved = state.Frame;
            state.Frame = frame;
            try
            {
                frame.Set(Parameters[i], defaults[i] is { } d ? d.Eval(state) : Undefined.WithHint($"parameter '{Parameters[i]}' was not provided"));
            }
            finally
            {
                state.Frame = saved;
            }
        }
        frame.Set("varargs", new PyTuple([.. extra]));
        frame.Set("kwargs", extraKw);
        if (usesCaller) frame.Set("caller", caller ?? Undefined.WithHint("No caller defined"));
        state.Enter();
        try
        {
            return state.Capture(frame, body);
        }
        finally
        {
            state.Leave();
        }
    }

    private bool IsBound(Args args, int i) =>
        i < args.Positional.Count || (args.Named?.Any(kv => kv.Key == Parameters[i]) ?? false);
}
