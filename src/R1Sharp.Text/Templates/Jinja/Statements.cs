using System.Text;

namespace R1Sharp.Text.Templates.Jinja;

/// <summary>A statement node; <see cref="Exec"/> writes to <see cref="RenderState.Out"/>.</summary>
internal abstract class Stmt(int line, int column)
{
    public int Line { get; } = line;
    public int Column { get; } = column;

    public abstract Flow Exec(RenderState state);

    public static Flow ExecBody(IReadOnlyList<Stmt> body, RenderState state)
    {
        for (int i = 0; i < body.Count; i++)
        {
            var flow = body[i].Exec(state);
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }
}

/// <summary>Template text and <c>{{ expr }}</c> output, in order (a null expression means literal text).</summary>
internal sealed class OutputStmt(List<(string? Text, Expr? Expr)> parts, int line, int column) : Stmt(line, column)
{
    public List<(string? Text, Expr? Expr)> Parts { get; } = parts;

    public override Flow Exec(RenderState state)
    {
        var sb = state.Out;
        foreach (var (text, expr) in Parts)
        {
            if (expr is null) sb.Append(text);
            else
            {
                var v = expr.EvalAt(state);
                sb.Append(v as string ?? PyFormat.Str(v));
            }
        }
        return Flow.Normal;
    }
}

internal sealed class IfStmt(List<(Expr Test, List<Stmt> Body)> branches, List<Stmt> otherwise, int line, int column) : Stmt(line, column)
{
    public override Flow Exec(RenderState state)
    {
        foreach (var (test, body) in branches)
            if (PyOps.Truthy(test.EvalAt(state)))
                return ExecBody(body, state);
        return ExecBody(otherwise, state);
    }
}

/// <summary>An assignment target: a name, a tuple of targets, or <c>ns.attr</c> on a namespace.</summary>
internal abstract class Target
{
    public abstract void Assign(RenderState state, Frame frame, object? value);
}

internal sealed class NameTarget(string name) : Target
{
    public string Name { get; } = name;
    public override void Assign(RenderState state, Frame frame, object? value) => frame.Set(Name, value);
}

internal sealed class TupleTarget(Target[] items) : Target
{
    public override void Assign(RenderState state, Frame frame, object? value)
    {
        var values = PyOps.ToList(value);
        if (values.Count != items.Length)
            throw new TemplateRuntimeException(values.Count > items.Length
                ? $"too many values to unpack (expected {items.Length})"
                : $"not enough values to unpack (expected {items.Length}, got {values.Count})");
        for (int i = 0; i < items.Length; i++) items[i].Assign(state, frame, values[i]);
    }
}

internal sealed class NamespaceTarget(string name, string attribute) : Target
{
    public override void Assign(RenderState state, Frame frame, object? value)
    {
        if (frame.Lookup(name) is not PyNamespace ns)
            throw new TemplateRuntimeException("cannot assign attribute on non-namespace object");
        ns.Attributes.Set(attribute, value);
    }
}

internal sealed class SetStmt(Target target, Expr value, int line, int column) : Stmt(line, column)
{
    public override Flow Exec(RenderState state)
    {
        var v = value.EvalAt(state);
        try
        {
            target.Assign(state, state.Frame, v);
        }
        catch (TemplateRuntimeException e) when (!e.HasPosition)
        {
            throw e.At(Line, Column);
        }
        return Flow.Normal;
    }
}

/// <summary><c>{% set x %}...{% endset %}</c>, optionally <c>{% set x | filter %}</c>.</summary>
internal sealed class SetBlockStmt(Target target, FilterExpr? filter, List<Stmt> body, int line, int column) : Stmt(line, column)
{
    public override Flow Exec(RenderState state)
    {
        object? value = state.Capture(new Frame(state.Frame), body);
        if (filter is not null) value = ApplyChain(state, filter, value);
        target.Assign(state, state.Frame, value);
        return Flow.Normal;
    }

    /// <summary>Applies a chain of filters whose innermost target is null (the captured text).</summary>
    public static object? ApplyChain(RenderState state, FilterExpr outer, object? value)
    {
        var chain = new List<FilterExpr>();
        for (Expr? e = outer; e is FilterExpr f; e = f.Target) chain.Add(f);
        for (int i = chain.Count - 1; i >= 0; i--) value = chain[i].Apply(state, value);
        return value;
    }
}

internal sealed class ForStmt(Target target, Expr iterable, Expr? condition, List<Stmt> body, List<Stmt> otherwise, int line, int column)
    : Stmt(line, column)
{
    public override Flow Exec(RenderState state)
    {
        var source = iterable.EvalAt(state);
        IReadOnlyList<object?> items;
        try
        {
            items = PyOps.ToList(source);
        }
        catch (TemplateRuntimeException e) when (!e.HasPosition)
        {
            throw e.At(Line, Column);
        }
        var outer = state.Frame;
        if (condition is not null)
        {
            var kept = new List<object?>(items.Count);
            foreach (var item in items)
            {
                var probe = new Frame(outer);
                target.Assign(state, probe, item);
                state.Frame = probe;
                try
                {
                    if (PyOps.Truthy(condition.EvalAt(state))) kept.Add(item);
                }
                finally
                {
                    state.Frame = outer;
                }
            }
            items = kept;
        }
        if (items.Count == 0) return ExecBody(otherwise, state);
        var loop = new LoopContext(items);
        try
        {
            for (int i = 0; i < items.Count; i++)
            {
                loop.Index0 = i;
                var frame = new Frame(outer);
                frame.Set("loop", loop);
                target.Assign(state, frame, items[i]);
                state.Frame = frame;
                if (ExecBody(body, state) == Flow.Break) break;
            }
        }
        catch (TemplateRuntimeException e) when (!e.HasPosition)
        {
            throw e.At(Line, Column);
        }
        finally
        {
            state.Frame = outer;
        }
        return Flow.Normal;
    }
}

internal sealed class LoopControlStmt(Flow flow, int line, int column) : Stmt(line, column)
{
    public override Flow Exec(RenderState state) => flow;
}

internal sealed class MacroStmt(string name, string[] parameters, Expr?[] defaults, List<Stmt> body,
    bool usesVarargs, bool usesKwargs, bool usesCaller, int line, int column) : Stmt(line, column)
{
    public override Flow Exec(RenderState state)
    {
        state.Frame.Set(name, new Macro(name, parameters, defaults, body, state.Frame, usesVarargs, usesKwargs, usesCaller));
        return Flow.Normal;
    }
}

/// <summary><c>{% call(args) macro(...) %}body{% endcall %}</c>: the body becomes the macro's <c>caller</c>.</summary>
internal sealed class CallBlockStmt(CallExpr call, string[] parameters, Expr?[] defaults, List<Stmt> body,
    bool usesVarargs, bool usesKwargs, int line, int column) : Stmt(line, column)
{
    public override Flow Exec(RenderState state)
    {
        var caller = new Macro("caller", parameters, defaults, body, state.Frame, usesVarargs, usesKwargs, false);
        var callee = call.Callee.EvalAt(state);
        var args = call.Arguments.Eval(state);
        var named = new List<KeyValuePair<string, object?>>(args.Named ?? []) { new("caller", caller) };
        try
        {
            var result = callee switch
            {
                PyCallable c => c.Call(state, new Args(args.Positional, named)),
                Undefined u => throw u.Fail(),
                _ => throw new TemplateRuntimeException($"'{PyOps.TypeName(callee)}' object is not callable"),
            };
            state.Out.Append(PyFormat.Str(result));
        }
        catch (TemplateRuntimeException e) when (!e.HasPosition)
        {
            throw e.At(Line, Column);
        }
        return Flow.Normal;
    }
}

internal sealed class FilterBlockStmt(FilterExpr filter, List<Stmt> body, int line, int column) : Stmt(line, column)
{
    public override Flow Exec(RenderState state)
    {
        string text = state.Capture(new Frame(state.Frame), body);
        state.Out.Append(PyFormat.Str(SetBlockStmt.ApplyChain(state, filter, text)));
        return Flow.Normal;
    }
}

internal sealed class WithStmt(List<(Target Target, Expr Value)> bindings, List<Stmt> body, int line, int column) : Stmt(line, column)
{
    public override Flow Exec(RenderState state)
    {
        var outer = state.Frame;
        var frame = new Frame(outer);
        foreach (var (t, v) in bindings) t.Assign(state, frame, v.EvalAt(state));
        state.Frame = frame;
        try
        {
            return ExecBody(body, state);
        }
        finally
        {
            state.Frame = outer;
        }
    }
}

/// <summary>
/// transformers' <c>{% generation %}...{% endgeneration %}</c> tag: renders its body and records the character
/// span it produced (what <c>return_assistant_tokens_mask</c> turns into a mask).
/// </summary>
internal sealed class GenerationStmt(List<Stmt> body, int line, int column) : Stmt(line, column)
{
    public override Flow Exec(RenderState state)
    {
        StringBuilder output = state.Out;
        int start = output.Length;
        var flow = ExecBody(body, state);
        if (ReferenceEquals(output, state.Root)) state.GenerationSpans.Add((start, output.Length));
        return flow;
    }
}
