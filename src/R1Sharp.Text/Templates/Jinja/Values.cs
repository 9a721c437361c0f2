using System.Collections;

namespace R1Sharp.Text.Templates.Jinja;

// The interpreter's value model mirrors the Python objects a chat template sees under jinja2:
//   None -> null, bool -> bool, int -> long, float -> double, str -> string,
//   list -> List<object?>, tuple -> PyTuple, dict -> PyDict (insertion-ordered),
//   plus jinja2's Undefined, Namespace, LoopContext, range objects and callables.

/// <summary>jinja2's default <c>Undefined</c>: prints as "", is falsy and iterates as empty; any other use fails.</summary>
internal sealed class Undefined
{
    private readonly string? _name;
    private readonly object? _owner;
    private readonly bool _hasOwner;
    private readonly string? _hint;

    private Undefined(string? name, object? owner, bool hasOwner, string? hint, bool unsafeAccess)
    {
        _name = name;
        _owner = owner;
        _hasOwner = hasOwner;
        _hint = hint;
        IsUnsafe = unsafeAccess;
    }

    public static Undefined Variable(string name) => new(name, null, false, null, false);
    public static Undefined Attribute(object? owner, object? key) => new(key as string ?? PyFormat.Repr(key), owner, true, key is string ? null : NoElementHint(owner, key), false);
    public static Undefined WithHint(string hint) => new(null, null, false, hint, false);
    public static Undefined UnsafeAttribute(object? owner, string name) =>
        new(name, owner, true, $"access to attribute '{name}' of '{PyOps.TypeName(owner)}' object is unsafe.", true);

    /// <summary>Set for attributes the immutable sandbox refuses (list.append, dict.update, ...).</summary>
    public bool IsUnsafe { get; }

    private static string NoElementHint(object? owner, object? key) => $"{ObjectTypeRepr(owner)} has no element {PyFormat.Repr(key)}";

    private static string ObjectTypeRepr(object? owner) => owner is null ? "None" : $"{PyOps.TypeName(owner)} object";

    /// <summary>The message jinja2 raises with (UndefinedError).</summary>
    public string Message =>
        _hint ?? (_hasOwner
            ? $"'{ObjectTypeRepr(_owner)}' has no attribute '{_name}'"
            : $"'{_name}' is undefined");

    public TemplateRuntimeException Fail() => new(Message);
}

/// <summary>A Python tuple.</summary>
internal sealed class PyTuple(object?[] items) : IReadOnlyList<object?>
{
    public static readonly PyTuple Empty = new([]);
    public object?[] Items { get; } = items;
    public int Count => Items.Length;
    public object? this[int index] => Items[index];
    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)Items).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => Items.GetEnumerator();
}

/// <summary>A Python dict: insertion-ordered, keys compared with Python equality (1 == 1.0 == True).</summary>
internal sealed class PyDict : IEnumerable<KeyValuePair<object?, object?>>
{
    // Chat-template dicts are small (a message has 2-5 keys): scan them; index only larger ones.
    private const int IndexThreshold = 8;
    private readonly List<KeyValuePair<object?, object?>> _entries = [];
    private Dictionary<PyKey, int>? _index;

    public int Count => _entries.Count;

    public IReadOnlyList<KeyValuePair<object?, object?>> Entries => _entries;

    private int Find(object? key)
    {
        if (_index is not null) return _index.TryGetValue(new PyKey(key), out int i) ? i : -1;
        if (key is string s)
        {
            for (int i = 0; i < _entries.Count; i++)
                if (_entries[i].Key is string k && string.Equals(k, s, StringComparison.Ordinal)) return i;
            return -1;
        }
        for (int i = 0; i < _entries.Count; i++)
            if (PyOps.Equal(_entries[i].Key, key)) return i;
        return -1;
    }

    public void Set(object? key, object? value)
    {
        int i = Find(key);
        if (i >= 0)
        {
            _entries[i] = new(_entries[i].Key, value);
            return;
        }
        _entries.Add(new(key, value));
        if (_index is not null) _index[new PyKey(key)] = _entries.Count - 1;
        else if (_entries.Count > IndexThreshold)
        {
            _index = new Dictionary<PyKey, int>(_entries.Count * 2);
            for (int k = 0; k < _entries.Count; k++) _index[new PyKey(_entries[k].Key)] = k;
        }
    }

    public bool TryGet(object? key, out object? value)
    {
        int i = Find(key);
        value = i >= 0 ? _entries[i].Value : null;
        return i >= 0;
    }

    public bool ContainsKey(object? key) => Find(key) >= 0;

    public IEnumerator<KeyValuePair<object?, object?>> GetEnumerator() => _entries.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Hash key with Python's numeric equivalence (True == 1 == 1.0).</summary>
    private readonly struct PyKey(object? value) : IEquatable<PyKey>
    {
        private readonly object? _value = value;

        public bool Equals(PyKey other) => PyOps.Equal(_value, other._value);
        public override bool Equals(object? obj) => obj is PyKey k && Equals(k);

        public override int GetHashCode() => _value switch
        {
            null => 0,
            bool b => b ? 1 : 0,
            long l => l.GetHashCode(),
            double d when d == Math.Floor(d) && Math.Abs(d) < 9e18 => ((long)d).GetHashCode(),
            string s => s.GetHashCode(StringComparison.Ordinal),
            PyTuple t => t.Items.Aggregate(17, (h, x) => h * 31 + new PyKey(x).GetHashCode()),
            _ => _value.GetHashCode(),
        };
    }
}

/// <summary>dict.items() / keys() / values() views; they print the way Python prints them.</summary>
internal sealed class PyDictView(string kind, List<object?> items) : IReadOnlyList<object?>
{
    public string Kind { get; } = kind;
    public List<object?> Items { get; } = items;
    public int Count => Items.Count;
    public object? this[int index] => Items[index];
    public IEnumerator<object?> GetEnumerator() => Items.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => Items.GetEnumerator();
}

/// <summary>jinja2's <c>namespace()</c>: the one object templates may assign attributes on.</summary>
internal sealed class PyNamespace
{
    public PyDict Attributes { get; } = new();
}

/// <summary>A Python range (the sandbox caps its length at 100,000).</summary>
internal sealed class PyRange : IReadOnlyList<object?>
{
    public const int MaxRange = 100_000;

    public PyRange(long start, long stop, long step)
    {
        if (step == 0) throw new TemplateRuntimeException("range() arg 3 must not be zero");
        Start = start;
        Stop = stop;
        Step = step;
        long n = step > 0
            ? (stop > start ? (stop - start + step - 1) / step : 0)
            : (start > stop ? (start - stop - step - 1) / -step : 0);
        if (n > MaxRange)
            throw new TemplateRuntimeException($"Range too big. The sandbox blocks ranges larger than MAX_RANGE ({MaxRange}).");
        Count = (int)n;
    }

    public long Start { get; }
    public long Stop { get; }
    public long Step { get; }
    public int Count { get; }
    public object? this[int index] => Start + index * Step;

    public IEnumerator<object?> GetEnumerator()
    {
        for (int i = 0; i < Count; i++) yield return Start + i * Step;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>The <c>loop</c> variable inside a for block.</summary>
internal sealed class LoopContext(IReadOnlyList<object?> items)
{
    private static readonly object NotSet = new();
    private object? _lastChanged = NotSet;

    public IReadOnlyList<object?> Items { get; } = items;
    public int Index0 { get; set; }
    public int Length => Items.Count;

    public object? Get(string name) => name switch
    {
        "index0" => (long)Index0,
        "index" => (long)(Index0 + 1),
        "revindex0" => (long)(Length - Index0 - 1),
        "revindex" => (long)(Length - Index0),
        "first" => Index0 == 0,
        "last" => Index0 == Length - 1,
        "length" => (long)Length,
        "depth" => 1L,
        "depth0" => 0L,
        "previtem" => Index0 > 0 ? Items[Index0 - 1] : Undefined.WithHint("there is no previous item"),
        "nextitem" => Index0 + 1 < Length ? Items[Index0 + 1] : Undefined.WithHint("there is no next item"),
        "cycle" => new BuiltinFunction("cycle", (_, args) =>
        {
            if (args.Positional.Count == 0) throw new TemplateRuntimeException("no items for cycling given");
            return args.Positional[Index0 % args.Positional.Count];
        }),
        "changed" => new BuiltinFunction("changed", (_, args) =>
        {
            object? value = new PyTuple([.. args.Positional]);
            if (_lastChanged == NotSet || !PyOps.Equal(_lastChanged, value))
            {
                _lastChanged = value;
                return true;
            }
            return false;
        }),
        _ => Undefined.Attribute(this, name),
    };
}

/// <summary>Call arguments: positional values and keyword values in call order.</summary>
internal sealed class Args(List<object?> positional, List<KeyValuePair<string, object?>>? named)
{
    public static readonly Args None = new([], null);

    public List<object?> Positional { get; } = positional;
    public List<KeyValuePair<string, object?>>? Named { get; } = named;

    public int Count => Positional.Count + (Named?.Count ?? 0);

    /// <summary>Argument by position or name, as Python binds <c>def f(a, b=default)</c>.</summary>
    public object? Get(int position, string name, object? defaultValue)
    {
        if (TryGetNamed(name, out var v))
        {
            if (position < Positional.Count)
                throw new TemplateRuntimeException($"got multiple values for argument '{name}'");
            return v;
        }
        return position < Positional.Count ? Positional[position] : defaultValue;
    }

    public bool TryGetNamed(string name, out object? value)
    {
        if (Named is not null)
            foreach (var kv in Named)
                if (kv.Key == name)
                {
                    value = kv.Value;
                    return true;
                }
        value = null;
        return false;
    }

    /// <summary>Fails on keyword arguments outside <paramref name="allowed"/> and on too many positional ones.</summary>
    public void Check(string function, int maxPositional, params ReadOnlySpan<string> allowed)
    {
        if (Positional.Count > maxPositional)
            throw new TemplateRuntimeException($"{function}() takes at most {maxPositional} positional argument(s) ({Positional.Count} given)");
        if (Named is null) return;
        foreach (var kv in Named)
            if (!allowed.Contains(kv.Key))
                throw new TemplateRuntimeException($"{function}() got an unexpected keyword argument '{kv.Key}'");
    }
}

/// <summary>Anything a template can call: macros, globals, bound string/dict methods.</summary>
internal abstract class PyCallable
{
    public abstract string Name { get; }
    public abstract object? Call(RenderState state, Args args);
}

internal sealed class BuiltinFunction(string name, Func<RenderState, Args, object?> body) : PyCallable
{
    public override string Name { get; } = name;
    public override object? Call(RenderState state, Args args) => body(state, args);
}
