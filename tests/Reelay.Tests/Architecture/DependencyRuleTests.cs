using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Reelay.Tests.Architecture;

/// <summary>
/// The server's folders form layers: leaves (<c>Hosting</c>, <c>Health</c>, <c>Storage</c>'s failure types,
/// <c>Accounts</c>, <c>Audit</c>, <c>Telemetry</c>) ← <c>Secrets</c> ← <c>Catalog</c>, <c>Keys</c>, <c>Images</c>, <c>Blobs</c> ← <c>Billing</c>,
/// <c>Limits</c>, <c>Channels</c> ← <c>Tasks</c> ← <c>Engine</c>, <c>Webhooks</c>; <c>Storage.Relational</c> implements the interfaces <c>Tasks</c>,
/// <c>Keys</c>, <c>Accounts</c>, <c>Billing</c>, <c>Audit</c>, <c>Channels</c> and <c>Webhooks</c> declare, over the database
/// <c>Storage.Sqlite</c> or <c>Storage.Postgres</c> provides (each with its own task store); <c>Redis</c> the shared
/// versions of what <c>Limits</c>, <c>Tasks</c>, <c>Keys</c> and <c>Storage</c> declare;
/// <c>Api</c> sits on top and no folder imports it. Read from the compiled IL, so a fully qualified name or a lambda cannot hide an edge.
/// </summary>
public sealed class DependencyRuleTests
{
    /// <summary>Each concern → the concerns it may use. Program.cs (the global namespace) may use all.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Hosting"] = [],
        ["Health"] = [],
        ["Storage"] = [],
        ["Accounts"] = [],
        ["Audit"] = [],
        ["Telemetry"] = [],
        ["Secrets"] = ["Hosting", "Health"],
        ["Catalog"] = ["Hosting", "Storage"],
        ["Keys"] = ["Hosting", "Storage", "Secrets", "Accounts"],
        ["Billing"] = ["Hosting", "Storage", "Accounts", "Catalog"],
        ["Limits"] = ["Accounts", "Keys"],
        ["Images"] = ["Hosting", "Storage"],
        ["Blobs"] = ["Hosting", "Health", "Storage", "Secrets"],
        ["Channels"] = ["Hosting", "Storage", "Secrets", "Catalog", "Keys", "Telemetry"],
        ["Tasks"] = ["Hosting", "Storage", "Secrets", "Accounts", "Billing", "Catalog", "Keys", "Images", "Blobs", "Channels", "Telemetry"],
        ["Engine"] = ["Hosting", "Storage", "Secrets", "Billing", "Catalog", "Keys", "Images", "Blobs", "Channels", "Tasks", "Telemetry"],
        ["Webhooks"] = ["Storage", "Images", "Tasks", "Telemetry"],
        ["Storage.Relational"] = ["Hosting", "Storage", "Secrets", "Accounts", "Audit", "Billing", "Catalog", "Keys", "Images", "Blobs", "Channels", "Tasks", "Telemetry", "Webhooks"],
        ["Storage.Sqlite"] = ["Hosting", "Health", "Storage", "Storage.Relational", "Secrets", "Accounts", "Audit", "Billing", "Catalog", "Keys", "Images", "Blobs", "Channels", "Tasks", "Telemetry", "Webhooks"],
        ["Storage.Postgres"] = ["Hosting", "Health", "Storage", "Storage.Relational", "Secrets", "Accounts", "Audit", "Billing", "Catalog", "Keys", "Images", "Blobs", "Channels", "Tasks", "Telemetry", "Webhooks"],
        ["Redis"] = ["Health", "Storage", "Keys", "Limits", "Tasks", "Telemetry"],
        ["Api"] = ["Hosting", "Health", "Storage", "Secrets", "Accounts", "Audit", "Billing", "Catalog", "Keys", "Limits", "Images", "Blobs", "Channels", "Tasks", "Engine", "Telemetry", "Webhooks"],
    };

    [Fact]
    public void ServerFolders_FollowTheDependencyRule()
    {
        var violations = Violations(Allowed);

        Assert.True(violations.Count == 0, "Dependencies against the rule (see README, Layout):\n" + string.Join("\n", violations));
    }

    [Fact]
    public void EveryServerNamespace_IsACoveredConcern()
    {
        var unknown = Edges().Select(edge => edge.From).Distinct().Where(concern => !Allowed.ContainsKey(concern)).ToList();

        Assert.True(unknown.Count == 0, $"Add these folders to the dependency rule: {string.Join(", ", unknown)}");
    }

    [Fact]
    public void Rule_StricterThanTheCode_ReportsTheEdges()
    {
        // The check itself must see edges that live only in method bodies and signatures: forbid
        // what the code really does and expect to be told.
        var stricter = new Dictionary<string, string[]>(Allowed) { ["Engine"] = ["Hosting", "Catalog", "Keys", "Images", "Blobs", "Channels"], ["Keys"] = [] };

        var violations = Violations(stricter);

        Assert.Contains(violations, v => v.StartsWith("Engine → Tasks", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.StartsWith("Keys → Hosting", StringComparison.Ordinal));
    }

    private static List<string> Violations(Dictionary<string, string[]> allowed) =>
        [.. Edges()
            .Where(edge => edge.From != edge.To && allowed.TryGetValue(edge.From, out var may) && !may.Contains(edge.To))
            .GroupBy(edge => (edge.From, edge.To))
            .Select(group => $"{group.Key.From} → {group.Key.To}: {string.Join(", ", group.Select(e => e.Where).Distinct().Order(StringComparer.Ordinal).Take(5))}")
            .Order(StringComparer.Ordinal)];

    private static readonly Lazy<List<(string From, string To, string Where)>> AllEdges = new(ReadEdges);

    private static List<(string From, string To, string Where)> Edges() => AllEdges.Value;

    private static List<(string From, string To, string Where)> ReadEdges()
    {
        var path = typeof(Reelay.Tasks.VideoTask).Assembly.Location;
        using var module = ModuleDefinition.ReadModule(path);
        var edges = new List<(string, string, string)>();
        foreach (var type in module.GetTypes())
        {
            if (ConcernOf(type) is not { } from)
            {
                continue;
            }

            foreach (var used in Referenced(type))
            {
                if (ConcernOf(used) is { } to)
                {
                    edges.Add((from, to, $"{Outermost(type).FullName} uses {Outermost(used).FullName}"));
                }
            }
        }

        return edges;
    }

    /// <summary><c>Reelay.Api.OpenAi.X</c> → <c>Api</c>; null outside the server's own namespaces (Providers, framework, Program).</summary>
    private static string? ConcernOf(TypeReference type)
    {
        var ns = Outermost(type).Namespace;
        if (!ns.StartsWith("Reelay.", StringComparison.Ordinal) || ns.StartsWith("Reelay.Providers", StringComparison.Ordinal))
        {
            return null;
        }

        var rest = ns["Reelay.".Length..];
        if (rest.StartsWith("Storage.", StringComparison.Ordinal))
        {
            // Storage itself holds what every concern may know of a store (its failures); its backends sit above Tasks.
            return rest;
        }

        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? rest : rest[..dot];
    }

    private static TypeReference Outermost(TypeReference type)
    {
        while (type.DeclaringType is not null)
        {
            type = type.DeclaringType;
        }

        return type;
    }

    private static List<TypeReference> Referenced(TypeDefinition type)
    {
        var found = new List<TypeReference>();
        Add(found, type.BaseType);
        foreach (var implemented in type.Interfaces)
        {
            Add(found, implemented.InterfaceType);
        }

        AddAttributes(found, type.CustomAttributes);
        foreach (var field in type.Fields)
        {
            Add(found, field.FieldType);
            AddAttributes(found, field.CustomAttributes);
        }

        foreach (var property in type.Properties)
        {
            Add(found, property.PropertyType);
            AddAttributes(found, property.CustomAttributes);
        }

        foreach (var method in type.Methods)
        {
            Add(found, method.ReturnType);
            AddAttributes(found, method.CustomAttributes);
            foreach (var parameter in method.Parameters)
            {
                Add(found, parameter.ParameterType);
            }

            if (!method.HasBody)
            {
                continue;
            }

            foreach (var local in method.Body.Variables)
            {
                Add(found, local.VariableType);
            }

            foreach (var instruction in method.Body.Instructions)
            {
                AddOperand(found, instruction);
            }
        }

        return found;
    }

    private static void AddOperand(List<TypeReference> found, Instruction instruction)
    {
        switch (instruction.Operand)
        {
            case TypeReference type:
                Add(found, type);
                break;
            case MethodReference method:
                Add(found, method.DeclaringType);
                Add(found, method.ReturnType);
                foreach (var parameter in method.Parameters)
                {
                    Add(found, parameter.ParameterType);
                }

                if (method is GenericInstanceMethod generic)
                {
                    foreach (var argument in generic.GenericArguments)
                    {
                        Add(found, argument);
                    }
                }

                break;
            case FieldReference field:
                Add(found, field.DeclaringType);
                Add(found, field.FieldType);
                break;
        }
    }

    private static void AddAttributes(List<TypeReference> found, IEnumerable<CustomAttribute> attributes)
    {
        foreach (var attribute in attributes)
        {
            Add(found, attribute.AttributeType);
            foreach (var argument in attribute.ConstructorArguments)
            {
                if (argument.Value is TypeReference type)
                {
                    Add(found, type);
                }
            }
        }
    }

    private static void Add(List<TypeReference> found, TypeReference? type)
    {
        switch (type)
        {
            case null:
                return;
            case GenericInstanceType generic:
                Add(found, generic.ElementType);
                foreach (var argument in generic.GenericArguments)
                {
                    Add(found, argument);
                }

                return;
            case TypeSpecification specification:
                Add(found, specification.ElementType);
                return;
            case GenericParameter:
                return;
            default:
                found.Add(type);
                return;
        }
    }
}
