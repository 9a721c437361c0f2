using System.Text;

namespace R1Sharp.Text.Templates.Jinja;

/// <summary>An expression node. <see cref="Eval"/> returns a value of the model in Values.cs.</summary>
internal abstract class Expr(int line, int column)
{
    public int Line { get; } = line;
    public int Column { get; } = column;

    public abstract object? Eval(RenderState state);

    /// <summary>Evaluates, attaching this node's position to errors that have none yet.</summary>
    public object? EvalAt(RenderState state)
    {
        try
        {
            return Eval(state);
        }
        catch (TemplateRuntimeException e) when (!e.HasPosition)
        {
            throw e.At(Line, Column);
        }
    }

    protected TemplateRuntimeException Error(string message) => new(message, Line, Column);
}

internal sealed class ConstExpr(object? value, int line, int column) : Expr(line, column)
{
    public object? Value { get; } = value;
    public override object? Eval(RenderState state) => Value;
}

internal sealed class NameExpr(string name, int line, int column) : Expr(line, column)
{
    public string Name { get; } = name;
    public override object? Eval(RenderState state) => state.Frame.Lookup(Name);
}

internal sealed class ListExpr(Expr[] items, int line, int column) : Expr(line, column)
{
    public Expr[] Items { get; } = items;

    public override object? Eval(RenderState state)
    {
        var list = new List<object?>(Items.Length);
        foreach (var e in Items) list.Add(e.Eval(state));
        return list;
    }
}

internal sealed class TupleExpr(Expr[] items, int line, int column) : Expr(line, column)
{
    public Expr[] Items { get; } = items;

    public override object? Eval(RenderState state)
    {
        var values = new object?[Items.Length];
        for (int i = 0; i < Items.Length; i++) values[i] = Items[i].Eval(state);
        return new PyTuple(values);
    }
}

internal sealed class DictExpr((Expr Key, Expr Value)[] pairs, int line, int column) : Expr(line, column)
{
    public override object? Eval(RenderState state)
    {
        var d = new PyDict();
        foreach (var (k, v) in pairs)
        {
            var key = k.Eval(state);
            if (key is List<object?> or PyDict or Undefined)
                throw Error($"unhashable type: '{PyOps.TypeName(key)}'");
            d.Set(key, v.Eval(state));
        }
        return d;
    }
}

internal sealed class GetAttrExpr(Expr target, string name, int line, int column) : Expr(line, column)
{
    public Expr Target { get; } = target;
    public string Name { get; } = name;

    public override object? Eval(RenderState state) => Access.GetAttr(state, Target.EvalAt(state), Name);
}

internal sealed class SliceExpr(Expr? start, Expr? stop, Expr? step, int line, int column) : Expr(line, column)
{
    public Expr? Start { get; } = start;
    public Expr? Stop { get; } = stop;
    public Expr? StepExpr { get; } = step;

    public override object? Eval(RenderState state) => throw Error("a slice can only appear inside [ ]");
}

internal sealed class GetItemExpr(Expr target, Expr key, int line, int column) : Expr(line, column)
{
    public override object? Eval(RenderState state)
    {
        var obj = target.EvalAt(state);
        if (key is SliceExpr s)
            return Access.GetSlice(obj, s.Start?.Eval(state), s.Stop?.Eval(state), s.StepExpr?.Eval(state));
        return Access.GetItem(state, obj, key.Eval(state));
    }
}

/// <summary>Call arguments as parsed: positional, keyword, <c>*args</c> and <c>**kwargs</c>.</summary>
internal sealed class CallArgs(Expr[] positional, (string Name, Expr Value)[] named, Expr? dynArgs, Expr? dynKwargs)
{
    public static readonly CallArgs Empty = new([], [], null, null);

    public Expr[] Positional { get; } = positional;

    public Args Eval(RenderState state)
    {
        if (Positional.Length == 0 && named.Length == 0 && dynArgs is null && dynKwargs is null) return Args.None;
        var pos = new List<object?>(Positional.Length);
        foreach (var e in Positional) pos.Add(e.Eval(state));
        if (dynArgs is not null) pos.AddRange(PyOps.Iterate(dynArgs.Eval(state)));
        List<KeyValuePair<string, object?>>? kw = null;
        if (named.Length > 0 || dynKwargs is not null)
        {
            kw = new List<KeyValuePair<string, object?>>(named.Length);
            foreach (var (n, e) in named) kw.Add(new(n, e.Eval(state)));
            if (dynKwargs is not null)
            {
                if (dynKwargs.Eval(state) is not PyDict d) throw new TemplateRuntimeException("argument after ** must be a mapping");
                foreach (var entry in d) kw.Add(new(entry.Key as string ?? throw new TemplateRuntimeException("keywords must be strings"), entry.Value));
            }
        }
        return new Args(pos, kw);
    }
}

internal sealed class CallExpr(Expr callee, CallArgs args, int line, int column) : Expr(line, column)
{
    public Expr Callee { get; } = callee;
    public CallArgs Arguments { get; } = args;

    public override object? Eval(RenderState state)
    {
        var f = Callee.EvalAt(state);
        var a = Arguments.Eval(state);
        try
        {
            return f switch
            {
                PyCallable c => c.Call(state, a),
                Undefined u => throw u.Fail(),
                _ => throw new TemplateRuntimeException($"'{PyOps.TypeName(f)}' object is not callable"),
            };
        }
        catch (TemplateRuntimeException e) when (!e.HasPosition)
        {
            throw e.At(Line, Column);
        }
    }
}

internal delegate object? FilterFunction(RenderState state, object? value, Args args);

internal delegate bool TestFunction(RenderState state, object? value, Args args);

/// <summary><c>value | name(args)</c>; <see cref="Target"/> is null inside <c>{% filter %}</c> and <c>{% set x | f %}</c>.</summary>
internal sealed class FilterExpr(Expr? target, string name, FilterFunction function, CallArgs args, int line, int column) : Expr(line, column)
{
    public Expr? Target { get; set; } = target;
    public string Name { get; } = name;

    public override object? Eval(RenderState state) => Apply(state, Target!.EvalAt(state));

    public object? Apply(RenderState state, object? value)
    {
        try
        {
            return function(state, value, args.Eval(state));
        }
        catch (TemplateRuntimeException e) when (!e.HasPosition)
        {
            throw e.At(Line, Column);
        }
    }
}

internal sealed class TestExpr(Expr target, string name, TestFunction function, CallArgs args, int line, int column) : Expr(line, column)
{
    public override object? Eval(RenderState state)
    {
        var value = target.EvalAt(state);
        try
        {
            return PyOps.Box(function(state, value, args.Eval(state)));
        }
        catch (TemplateRuntimeException e) when (!e.HasPosition)
        {
            throw e.At(Line, Column);
        }
    }

    public string Name { get; } = name;
}

internal sealed class BinaryExpr(string op, Expr left, Expr right, int line, int column) : Expr(line, column)
{
    public override object? Eval(RenderState state)
    {
        var a = left.EvalAt(state);
        var b = right.EvalAt(state);
        try
        {
            return PyOps.Binary(op, a, b);
        }
        catch (TemplateRuntimeException e) when (!e.HasPosition)
        {
            throw e.At(Line, Column);
        }
    }
}

internal sealed class UnaryExpr(string op, Expr operand, int line, int column) : Expr(line, column)
{
    public override object? Eval(RenderState state)
    {
        var v = operand.EvalAt(state);
        try
        {
            return op switch
            {
                "not" => PyOps.Box(!PyOps.Truthy(v)),
                "-" => PyOps.Negate(v),
                _ => PyOps.Plus(v),
            };
        }
        catch (TemplateRuntimeException e) when (!e.HasPosition)
        {
            throw e.At(Line, Column);
        }
    }
}

/// <summary><c>a and b</c> / <c>a or b</c> with Python's value-returning short circuit.</summary>
internal sealed class LogicExpr(bool isAnd, Expr left, Expr right, int line, int column) : Expr(line, column)
{
    public override object? Eval(RenderState state)
    {
        var a = left.Eval(state);
        return PyOps.Truthy(a) == isAnd ? right.Eval(state) : a;
    }
}

/// <summary><c>a ~ b ~ c</c>: str() of each operand, Undefined as "".</summary>
internal sealed class ConcatExpr(Expr[] parts, int line, int column) : Expr(line, column)
{
    public override object? Eval(RenderState state)
    {
        var sb = new StringBuilder();
        foreach (var p in parts) sb.Append(PyFormat.Str(p.EvalAt(state)));
        return sb.ToString();
    }
}

/// <summary>A comparison chain, <c>a &lt; b &lt;= c</c> meaning <c>a &lt; b and b &lt;= c</c>.</summary>
internal sealed class CompareExpr(Expr first, (string Op, Expr Operand)[] rest, int line, int column) : Expr(line, column)
{
    public override object? Eval(RenderState state)
    {
        var left = first.EvalAt(state);
        foreach (var (op, e) in rest)
        {
            var right = e.EvalAt(state);
            bool ok;
            try
            {
                ok = PyOps.CompareOp(op, left, right);
            }
            catch (TemplateRuntimeException ex) when (!ex.HasPosition)
            {
                throw ex.At(Line, Column);
            }
            if (!ok) return PyOps.False;
            left = right;
        }
        return PyOps.True;
    }
}

/// <summary><c>a if cond else b</c>; without else, a false condition gives Undefined.</summary>
internal sealed class CondExpr(Expr test, Expr then, Expr? otherwise, int line, int column) : Expr(line, column)
{
    public override object? Eval(RenderState state)
    {
        if (PyOps.Truthy(test.EvalAt(state))) return then.Eval(state);
        return otherwise is null
            ? Undefined.WithHint($"the inline if-expression on line {Line} evaluated to false and no else section was defined.")
            : otherwise.Eval(state);
    }
}
