using Reelay.Bench;

// The same executable is the baseline server when a benchmark run starts it as a child process.
if (args is ["baseline", var url, ..] && args.Length <= 3)
{
    BaselineServer.Run(url, args.Length == 3 ? args[2] : null);
    return 0;
}

if (BenchOptions.Parse(args) is not { } options)
{
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

if (options.Only == "queue")
{
    Console.WriteLine(Report.QueueSection(options.Queue, await QueueBenchmark.RunAsync(options)));
    return 0;
}

if (options.Only == "polling")
{
    var pollingReport = new System.Text.StringBuilder();
    Report.Polling(pollingReport, options.Polling, await PollingBenchmark.RunAsync(options));
    Console.WriteLine(pollingReport);
    return 0;
}

if (options.Only == "callbacks")
{
    var section = CallbackBenchmark.Section(options, await CallbackBenchmark.RunAsync(options));
    Console.WriteLine(section);
    if (options.OutputPath is { } callbacksPath)
    {
        await File.WriteAllTextAsync(callbacksPath, section);
    }

    return 0;
}

if (options.Only == "waiting")
{
    await Report.WriteSectionAsync(options, WaitingBenchmark.Section(options, await WaitingBenchmark.RunAsync(options)));
    return 0;
}

if (options.Only == "billing")
{
    Console.WriteLine(BillingBenchmark.Section(options, await BillingBenchmark.RunAsync(options)));
    return 0;
}

if (options.Only == "postgres")
{
    await Report.WriteSectionAsync(options, PostgresBenchmark.Section(options, await PostgresBenchmark.RunAsync(options)));
    return 0;
}

if (options.Only == "instances")
{
    await Report.WriteSectionAsync(options, InstancesBenchmark.Section(options, await InstancesBenchmark.RunAsync(options)));
    return 0;
}

if (options.Only == "inflight")
{
    await Report.WriteSectionAsync(options, InflightBenchmark.Section(options, await InflightBenchmark.RunAsync(options)));
    return 0;
}

if (options.Only == "allocations")
{
    var allocationReport = new System.Text.StringBuilder();
    Report.Allocations(allocationReport, await Benchmark.AllocationsAsync(options));
    Console.WriteLine(allocationReport);
    return 0;
}

var throughput = await Benchmark.RunAsync(options);
if (options.Only == "throughput")
{
    Console.WriteLine(Report.ThroughputSections(options, throughput));
    return 0;
}

var polling = await PollingBenchmark.RunAsync(options);
var queue = await QueueBenchmark.RunAsync(options);
var billing = await BillingBenchmark.RunAsync(options);
var report = Report.Write(options, throughput, polling, queue) + BillingBenchmark.Section(options, billing);
Console.WriteLine(report);
if (options.OutputPath is { } path)
{
    // The sections only an --only run measures (waiting, stores, instances, tasks in flight) stay as it wrote them.
    await File.WriteAllTextAsync(path, Report.KeepOtherSections(report, File.Exists(path) ? await File.ReadAllTextAsync(path) : ""));
    Console.WriteLine($"Written to {Path.GetFullPath(path)}");
}

return 0;
