using System.Text.Json.Serialization;

namespace Reelay.Tasks;

/// <summary>Serialization of the JSON columns of a task.</summary>
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(List<RouteStep>))]
internal sealed partial class TaskJsonContext : JsonSerializerContext;

/// <summary>One channel tried for a task, and how it went.</summary>
/// <param name="Channel">Channel name.</param>
/// <param name="Provider">Provider name.</param>
/// <param name="UpstreamModel">Model id sent upstream.</param>
/// <param name="Outcome"><c>submitted</c>, or the error code that moved the task on.</param>
/// <param name="At">Unix ms.</param>
public sealed record RouteStep(string Channel, string Provider, string UpstreamModel, string Outcome, long At);
