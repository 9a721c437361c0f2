namespace R1Sharp.Text.Templates.Jinja;

/// <summary>jinja2's built-in tests (<c>x is defined</c>, <c>x is string</c>, ...), with Python's type rules.</summary>
internal static class Tests
{
    private static object? Arg(Args a, string test) =>
        a.Positional.Count > 0 ? a.Positional[0] : throw new TemplateRuntimeException($"test '{test}' needs an argument");

    private static bool Cmp(string op, object? v, Args a, string name) => PyOps.CompareOp(op, v, Arg(a, name));

    private static readonly Dictionary<string, TestFunction> All = new()
    {
        ["defined"] = (_, v, _) => v is not Undefined,
        ["undefined"] = (_, v, _) => v is Undefined,
        ["none"] = (_, v, _) => v is null,
        ["boolean"] = (_, v, _) => v is bool,
        ["false"] = (_, v, _) => v is false,
        ["true"] = (_, v, _) => v is true,
        ["integer"] = (_, v, _) => v is long,
        ["float"] = (_, v, _) => v is double,
        ["number"] = (_, v, _) => v is bool or long or double,
        ["string"] = (_, v, _) => v is string,
        ["mapping"] = (_, v, _) => v is PyDict,
        ["sequence"] = (_, v, _) => v is string or List<object?> or PyTuple or PyDict or PyRange,
        ["iterable"] = (_, v, _) => v is string or List<object?> or PyTuple or PyDict or PyDictView or PyRange or Undefined,
        ["callable"] = (_, v, _) => v is PyCallable,
        ["escaped"] = (_, _, _) => false,
        ["lower"] = (_, v, _) => (bool)PyStrings.CallMethod(null!, PyFormat.Str(v), "islower", Args.None)!,
        ["upper"] = (_, v, _) => (bool)PyStrings.CallMethod(null!, PyFormat.Str(v), "isupper", Args.None)!,
        ["odd"] = (_, v, _) => PyOps.Equal(PyOps.Binary("%", v, 2L), 1L),
        ["even"] = (_, v, _) => PyOps.Equal(PyOps.Binary("%", v, 2L), 0L),
        ["divisibleby"] = (_, v, a) => PyOps.Equal(PyOps.Binary("%", v, Arg(a, "divisibleby")), 0L),
        ["sameas"] = (_, v, a) => SameAs(v, Arg(a, "sameas")),
        ["in"] = (_, v, a) => PyOps.Contains(Arg(a, "in"), v),
        ["eq"] = (_, v, a) => Cmp("==", v, a, "eq"),
        ["equalto"] = (_, v, a) => Cmp("==", v, a, "equalto"),
        ["=="] = (_, v, a) => Cmp("==", v, a, "=="),
        ["ne"] = (_, v, a) => Cmp("!=", v, a, "ne"),
        ["!="] = (_, v, a) => Cmp("!=", v, a, "!="),
        ["lt"] = (_, v, a) => Cmp("<", v, a, "lt"),
        ["lessthan"] = (_, v, a) => Cmp("<", v, a, "lessthan"),
        ["<"] = (_, v, a) => Cmp("<", v, a, "<"),
        ["le"] = (_, v, a) => Cmp("<=", v, a, "le"),
        ["<="] = (_, v, a) => Cmp("<=", v, a, "<="),
        ["gt"] = (_, v, a) => Cmp(">", v, a, "gt"),
        ["greaterthan"] = (_, v, a) => Cmp(">", v, a, "greaterthan"),
        [">"] = (_, v, a) => Cmp(">", v, a, ">"),
        ["ge"] = (_, v, a) => Cmp(">=", v, a, "ge"),
        [">="] = (_, v, a) => Cmp(">=", v, a, ">="),
        ["filter"] = (_, v, _) => v is string s && Filters.Get(s) is not null,
        ["test"] = (_, v, _) => v is string s && Get(s) is not null,
    };

    /// <summary>Python's <c>is</c>: identity for objects; None, booleans and small ints compare by value.</summary>
    private static bool SameAs(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (bool x, bool y) => x == y,
        (long x, long y) => x == y && x is >= -5 and <= 256,
        _ => ReferenceEquals(a, b),
    };

    public static TestFunction? Get(string name) => All.GetValueOrDefault(name);

    public static IEnumerable<string> Names => All.Keys;

    internal static bool Call(RenderState state, string name, object? value, Args args) =>
        (Get(name) ?? throw new TemplateRuntimeException($"No test named '{name}'."))(state, value, args);
}
