namespace R1Sharp.Text.Templates.Jinja;

/// <summary>
/// Attribute and item lookup the way jinja2's ImmutableSandboxedEnvironment does it:
/// <c>x.name</c> tries the Python attribute first (str/dict/list methods), then <c>x['name']</c>;
/// <c>x[key]</c> tries the item first, then the attribute; a miss is Undefined. Methods that would mutate a
/// list or dict (append, update, pop, ...) are refused, as the immutable sandbox refuses them.
/// </summary>
internal static class Access
{
    private static bool IsDictMethod(string name) => name is "keys" or "values" or "items" or "get" or "copy";
    private static bool IsDictMutator(string name) => name is "clear" or "pop" or "popitem" or "setdefault" or "update";
    private static bool IsListMethod(string name) => name is "index" or "count" or "copy";
    private static bool IsListMutator(string name) => name is "append" or "clear" or "pop" or "reverse" or "insert" or "sort" or "extend" or "remove";

    public static object? GetAttr(RenderState state, object? obj, string name)
    {
        if (name.Length > 0 && name[0] == '_') return Undefined.Attribute(obj, name);
        switch (obj)
        {
            case Undefined u: throw u.Fail();
            case PyDict d:
                if (IsDictMethod(name)) return new BoundMethod(obj, name);
                if (IsDictMutator(name)) return Undefined.UnsafeAttribute(obj, name);
                return d.TryGet(name, out var v) ? v : Undefined.Attribute(obj, name);
            case string:
                return PyStrings.HasMethod(name) ? new BoundMethod(obj, name) : Undefined.Attribute(obj, name);
            case List<object?>:
                if (IsListMethod(name)) return new BoundMethod(obj, name);
                if (IsListMutator(name)) return Undefined.UnsafeAttribute(obj, name);
                return Undefined.Attribute(obj, name);
            case PyTuple when name is "index" or "count":
                return new BoundMethod(obj, name);
            case PyNamespace ns:
                return ns.Attributes.TryGet(name, out var nv) ? nv : Undefined.Attribute(obj, name);
            case LoopContext loop:
                return loop.Get(name);
            case Macro m:
                return name switch
                {
                    "name" => m.Name,
                    "arguments" => new PyTuple([.. m.Parameters]),
                    _ => Undefined.Attribute(obj, name),
                };
            default:
                return Undefined.Attribute(obj, name);
        }
    }

    public static object? GetItem(RenderState state, object? obj, object? key)
    {
        switch (obj)
        {
            case Undefined u: throw u.Fail();
            case PyDict d:
                if (d.TryGet(key, out var v)) return v;
                break;
            case List<object?> or PyTuple or PyRange or PyDictView when key is bool or long:
            {
                var list = (IReadOnlyList<object?>)obj;
                long i = PyOps.ToLong(key);
                if (i < 0) i += list.Count;
                if (i >= 0 && i < list.Count) return list[(int)i];
                return Undefined.Attribute(obj, key);
            }
            case string s when key is bool or long:
                return PyStrings.Index(s, PyOps.ToLong(key)) ?? (object)Undefined.Attribute(obj, key);
        }
        if (key is string name) return GetAttr(state, obj, name);
        return Undefined.Attribute(obj, key);
    }

    public static object? GetSlice(object? obj, object? start, object? stop, object? step)
    {
        switch (obj)
        {
            case string s: return PyStrings.Slice(s, start, stop, step);
            case List<object?> l: return SliceList(l, start, stop, step);
            case PyTuple t: return new PyTuple([.. SliceList(t, start, stop, step)]);
            case PyRange r: return SliceList(r, start, stop, step);
            case Undefined u: throw u.Fail();
            default: return Undefined.Attribute(obj, "slice");
        }
    }

    private static List<object?> SliceList(IReadOnlyList<object?> items, object? start, object? stop, object? step)
    {
        var (a, _, st, count) = PyStrings.SliceIndices(items.Count, start, stop, step);
        var result = new List<object?>(Math.Max(count, 0));
        for (int i = 0, k = a; i < count; i++, k += st) result.Add(items[k]);
        return result;
    }
}

/// <summary>A str/dict/list method bound to its object, e.g. <c>message.content.startswith</c>.</summary>
internal sealed class BoundMethod(object self, string name) : PyCallable
{
    public override string Name { get; } = name;

    public override object? Call(RenderState state, Args args)
    {
        switch (self)
        {
            case string s:
                return PyStrings.CallMethod(state, s, Name, args);
            case PyDict d:
                switch (Name)
                {
                    case "keys": return new PyDictView("keys", [.. d.Entries.Select(kv => kv.Key)]);
                    case "values": return new PyDictView("values", [.. d.Entries.Select(kv => kv.Value)]);
                    case "items": return new PyDictView("items", [.. d.Entries.Select(kv => (object?)new PyTuple([kv.Key, kv.Value]))]);
                    case "get":
                        args.Check("get", 2);
                        return d.TryGet(args.Get(0, "key", null), out var v) ? v : args.Get(1, "default", null);
                    case "copy":
                        var copy = new PyDict();
                        foreach (var kv in d) copy.Set(kv.Key, kv.Value);
                        return copy;
                }
                break;
            case IReadOnlyList<object?> list:
                switch (Name)
                {
                    case "copy": return new List<object?>(list);
                    case "count": return (long)list.Count(x => PyOps.Equal(x, args.Get(0, "value", null)));
                    case "index":
                        var target = args.Get(0, "value", null);
                        for (int i = 0; i < list.Count; i++)
                            if (PyOps.Equal(list[i], target)) return (long)i;
                        throw new TemplateRuntimeException($"{PyFormat.Repr(target)} is not in list");
                }
                break;
        }
        throw new TemplateRuntimeException($"'{PyOps.TypeName(self)}' object has no attribute '{Name}'");
    }
}
