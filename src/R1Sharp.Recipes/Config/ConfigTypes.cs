using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Reflection;

namespace R1Sharp.Recipes.Config;

/// <summary>How the binder sees a type: a scalar, a list, a string-keyed dictionary, or a record of fields.</summary>
internal enum ConfigKind { Scalar, List, Dictionary, Record }

/// <summary>
/// Marks a record-typed property whose fields are the parent's own in config files: <c>[Flatten] OptimizerOptions Optimizer</c>
/// makes <c>learning_rate: 1e-5</c> a top-level key of the recipe's config (as TRL spells it), while the code keeps one record
/// of optimiser settings shared by every recipe.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class FlattenAttribute : Attribute;

/// <summary>One configurable field of a record: a public instance property with a getter and a setter or init.</summary>
internal sealed class ConfigField(string name, PropertyInfo property, NullabilityInfo nullability, IReadOnlyList<ValidationAttribute> rules)
{
    /// <summary>For a field of a [Flatten] property: the parent property that holds the nested record.</summary>
    private (PropertyInfo Holder, RecordModel Nested)? _via;

    public string Name { get; } = name;
    public PropertyInfo Property { get; } = property;
    public Type Type => Property.PropertyType;
    public NullabilityInfo Nullability { get; } = nullability;
    /// <summary>[Range], [AllowedValues], [Length], … on the property or its positional-record parameter.</summary>
    public IReadOnlyList<ValidationAttribute> Rules { get; } = rules;

    /// <summary>The same field seen through a [Flatten] property <paramref name="holder"/> of the parent record.</summary>
    public ConfigField Through(PropertyInfo holder, RecordModel nested) =>
        new(Name, Property, Nullability, Rules) { _via = (holder, nested) };

    public object? Get(object record) =>
        _via is var (holder, _) ? Property.GetValue(holder.GetValue(record)!) : Property.GetValue(record);

    /// <summary>Sets the field; through a [Flatten] property, on a copy of the nested record that then replaces it.</summary>
    public void Set(object record, object? value)
    {
        if (_via is not var (holder, nested))
        {
            Property.SetValue(record, value);
            return;
        }
        var inner = holder.GetValue(record) is { } current ? nested.Copy(current) : nested.Parameterless!.Invoke(null);
        Property.SetValue(inner, value);
        holder.SetValue(record, inner);
    }
}

/// <summary>The fields of a record type and how to copy or create one; cached per type.</summary>
internal sealed class RecordModel
{
    private static readonly ConcurrentDictionary<Type, RecordModel> Cache = new();
    private static readonly NullabilityInfoContext NullabilityContext = new();

    private RecordModel(Type type)
    {
        Type = type;
        var fields = new List<ConfigField>();
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).OrderBy(p => p.MetadataToken))
        {
            if (p.GetIndexParameters().Length > 0 || p.GetMethod is null || p.SetMethod is not { IsPublic: true }) continue;
            if (p.GetCustomAttribute<FlattenAttribute>() is not null)
            {
                var nested = For(p.PropertyType);
                fields.AddRange(nested.Fields.Select(f => f.Through(p, nested)));
                continue;
            }
            NullabilityInfo nullability;
            lock (NullabilityContext) nullability = NullabilityContext.Create(p);
            fields.Add(new ConfigField(ConfigNames.ToSnakeCase(p.Name), p, nullability, RulesOf(type, p)));
        }
        Fields = fields;
        ByName = fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        Parameterless = type.GetConstructor(Type.EmptyTypes);
        Clone = type.GetMethod("<Clone>$", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes);
        var constructors = type.GetConstructors().Where(c => c.GetParameters().Length > 0 && !IsCopyConstructor(c)).ToList();
        Primary = constructors.Count == 1 ? constructors[0] : null;
    }

    public Type Type { get; }
    public IReadOnlyList<ConfigField> Fields { get; }
    public IReadOnlyDictionary<string, ConfigField> ByName { get; }
    public ConstructorInfo? Parameterless { get; }
    public ConstructorInfo? Primary { get; }
    public MethodInfo? Clone { get; }

    public static RecordModel For(Type type) => Cache.GetOrAdd(type, t => new RecordModel(t));

    /// <summary>A copy that the binder may set fields on (records: <c>&lt;Clone&gt;$</c>, the <c>with</c> copy; structs: a boxed copy).</summary>
    public object Copy(object value)
    {
        if (Type.IsValueType) return value;   // already a boxed copy
        if (Clone is not null) return Clone.Invoke(value, null)!;
        if (Parameterless is null)
            throw new InvalidOperationException($"{Type.Name} cannot be copied: declare it as a record (or give it a public parameterless constructor).");
        var copy = Parameterless.Invoke(null);
        foreach (var f in Fields) f.Set(copy, f.Get(value));
        return copy;
    }

    private static bool IsCopyConstructor(ConstructorInfo c)
    {
        var ps = c.GetParameters();
        return ps.Length == 1 && ps[0].ParameterType == c.DeclaringType;
    }

    /// <summary>Validation attributes on the property, or on the positional record's constructor parameter of the same name.</summary>
    private static List<ValidationAttribute> RulesOf(Type type, PropertyInfo p) =>
        [.. p.GetCustomAttributes<ValidationAttribute>(),
         .. type.GetConstructors().SelectMany(c => c.GetParameters())
             .Where(x => x.Name == p.Name && x.ParameterType == p.PropertyType)
             .SelectMany(x => x.GetCustomAttributes<ValidationAttribute>())];
}

internal static class ConfigTypes
{
    public static ConfigKind KindOf(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (IsScalar(type)) return ConfigKind.Scalar;
        if (DictionaryValueType(type) is not null) return ConfigKind.Dictionary;
        if (ElementType(type) is not null) return ConfigKind.List;
        return ConfigKind.Record;
    }

    public static bool IsScalar(Type t) =>
        t == typeof(string) || t == typeof(bool) || t.IsEnum || t == typeof(TimeSpan) || IsNumber(t);

    public static bool IsNumber(Type t) =>
        t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(byte) || t == typeof(uint) || t == typeof(ulong)
        || t == typeof(double) || t == typeof(float) || t == typeof(decimal);

    public static bool IsInteger(Type t) =>
        t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(byte) || t == typeof(uint) || t == typeof(ulong);

    /// <summary>T of T[], List&lt;T&gt;, IReadOnlyList&lt;T&gt;, IList&lt;T&gt;, IEnumerable&lt;T&gt;, ICollection&lt;T&gt;, IReadOnlyCollection&lt;T&gt;.</summary>
    public static Type? ElementType(Type t)
    {
        if (t == typeof(string)) return null;
        if (t.IsArray) return t.GetElementType();
        if (!t.IsGenericType) return null;
        var def = t.GetGenericTypeDefinition();
        return def == typeof(List<>) || def == typeof(IReadOnlyList<>) || def == typeof(IList<>) || def == typeof(IEnumerable<>)
               || def == typeof(ICollection<>) || def == typeof(IReadOnlyCollection<>)
            ? t.GetGenericArguments()[0]
            : null;
    }

    /// <summary>TValue of string-keyed Dictionary, IDictionary or IReadOnlyDictionary.</summary>
    public static Type? DictionaryValueType(Type t)
    {
        if (!t.IsGenericType) return null;
        var def = t.GetGenericTypeDefinition();
        if (def != typeof(Dictionary<,>) && def != typeof(IDictionary<,>) && def != typeof(IReadOnlyDictionary<,>)) return null;
        var args = t.GetGenericArguments();
        return args[0] == typeof(string) ? args[1] : null;
    }

    /// <summary>Builds a list value of <paramref name="listType"/> from items.</summary>
    public static object MakeList(Type listType, Type elementType, IReadOnlyList<object?> items)
    {
        var list = (System.Collections.IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(elementType))!;
        foreach (var item in items) list.Add(item);
        if (!listType.IsArray) return list;
        var array = Array.CreateInstance(elementType, items.Count);
        list.CopyTo(array, 0);
        return array;
    }

    /// <summary>Builds a Dictionary&lt;string, TValue&gt; from entries.</summary>
    public static object MakeDictionary(Type valueType, IEnumerable<KeyValuePair<string, object?>> entries)
    {
        var dict = (System.Collections.IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(typeof(string), valueType), StringComparer.Ordinal)!;
        foreach (var (k, v) in entries) dict[k] = v;
        return dict;
    }

    /// <summary>The snake_case names of an enum's members, in declaration order.</summary>
    public static IReadOnlyList<(string Name, object Value)> EnumNames(Type enumType) =>
        enumType.GetFields(BindingFlags.Public | BindingFlags.Static).OrderBy(f => f.MetadataToken)
            .Select(f => (ConfigNames.ToSnakeCase(f.Name), f.GetValue(null)!)).ToList();

    public static string EnumName(object value) =>
        EnumNames(value.GetType()).FirstOrDefault(e => Equals(e.Value, value)).Name ?? value.ToString()!;

    /// <summary>Whether a value of <paramref name="type"/> described by <paramref name="nullability"/> may be null.</summary>
    public static bool AllowsNull(Type type, NullabilityInfo? nullability) =>
        Nullable.GetUnderlyingType(type) is not null
        || (!type.IsValueType && (nullability is null || nullability.WriteState != NullabilityState.NotNull));

    /// <summary>Nullability of a list's elements or a dictionary's values.</summary>
    public static NullabilityInfo? ItemNullability(Type type, NullabilityInfo? nullability) =>
        nullability is null ? null
        : type.IsArray ? nullability.ElementType
        : nullability.GenericTypeArguments.Length > 0 ? nullability.GenericTypeArguments[^1]
        : null;

    public static string Describe(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t == typeof(string)) return "a string";
        if (t == typeof(bool)) return "true or false";
        if (IsInteger(t)) return "an integer";
        if (IsNumber(t)) return "a number";
        if (t == typeof(TimeSpan)) return "a duration (seconds, or hh:mm:ss)";
        if (t.IsEnum) return "one of " + string.Join(", ", EnumNames(t).Select(e => e.Name));
        return KindOf(t) switch
        {
            ConfigKind.List => "a list",
            ConfigKind.Dictionary => "a mapping",
            _ => "a mapping of fields",
        };
    }
}
