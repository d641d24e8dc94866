using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Reelay.Testing;

namespace Reelay.IntegrationTests.Hosting;

/// <summary>
/// One trace per task: the create request's span (in the caller's trace when it sent a
/// <c>traceparent</c>) is the parent of every worker step on the task (dispatch, each poll, finish),
/// stored with the task so it holds across workers and restarts, and the upstream calls nest under
/// the step that made them.
/// </summary>
public class TaskTraceTests
{
    [Fact]
    public async Task Task_FromCreateToFinish_IsOneTrace_WithTheUpstreamCallsInside()
    {
        var ct = TestContext.Current.CancellationToken;
        var stopped = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Reelay" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Add,
        };
        ActivitySource.AddActivityListener(listener);

        await using var app = ReelayApp.Start();
        using var client = await app.CreateClientWithKeyAsync(cancellationToken: ct);
        // The client's own trace, as an instrumented caller sends it: the task's life becomes part of it.
        var clientTrace = ActivityTraceId.CreateRandom();
        var clientSpan = ActivitySpanId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/video/create")
        {
            Content = JsonContent.Create(new { model = "reelay-preview", prompt = "a traced fox", duration = 1, size = "480P" }),
        };
        request.Headers.Add("traceparent", $"00-{clientTrace}-{clientSpan}-01");
        using var created = await client.SendAsync(request, ct);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("id").GetString()!;
        var done = await VideoTasks.WaitForEndAsync(client, id, TimeSpan.FromMinutes(2), ct);
        Assert.Equal("completed", done.GetProperty("status").GetString());

        // The finish span stops just after the task is stored completed: give it the moment it needs.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!stopped.Any(a => a.DisplayName == "task finish" && Equals(a.GetTagItem("reelay.task.id"), id)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, ct);
        }

        var steps = stopped.Where(a => a.Source.Name == "Reelay" && a.DisplayName.StartsWith("task ", StringComparison.Ordinal) && Equals(a.GetTagItem("reelay.task.id"), id)).ToList();
        Assert.Single(steps, a => a.DisplayName == "task dispatch");
        Assert.Contains(steps, a => a.DisplayName == "task poll");
        Assert.Single(steps, a => a.DisplayName == "task finish");

        var trace = Assert.Single(steps.Select(a => a.TraceId).Distinct());
        Assert.Equal(clientTrace, trace);
        var create = Assert.Single(stopped, a => a.Source.Name == "Microsoft.AspNetCore" && a.TraceId == trace);
        Assert.Equal(clientSpan, create.ParentSpanId);
        Assert.All(steps, step => Assert.Equal(create.SpanId, step.ParentSpanId));

        // The renderer's submit ran inside the dispatch step, its download inside the finish step.
        var dispatch = steps.Single(a => a.DisplayName == "task dispatch");
        var finish = steps.Single(a => a.DisplayName == "task finish");
        Assert.Contains(stopped, a => a.DisplayName == "upstream submit" && a.ParentSpanId == dispatch.SpanId && a.TraceId == trace);
        Assert.Contains(stopped, a => a.DisplayName == "upstream download" && a.ParentSpanId == finish.SpanId && a.TraceId == trace);
    }
}
