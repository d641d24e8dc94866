using Reelay.Bench;

// The same executable is the baseline server when a benchmark run starts it as a child process.
if (args is ["baseline", var url])
{
    BaselineServer.Run(url);
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

if (options.Only == "billing")
{
    Console.WriteLine(BillingBenchmark.Section(options, await BillingBenchmark.RunAsync(options)));
    return 0;
}

var throughput = await Benchmark.RunAsync(options);
var polling = await PollingBenchmark.RunAsync(options);
var queue = await QueueBenchmark.RunAsync(options);
var billing = await BillingBenchmark.RunAsync(options);
var report = Report.Write(options, throughput, polling, queue) + BillingBenchmark.Section(options, billing);
Console.WriteLine(report);
if (options.OutputPath is { } path)
{
    await File.WriteAllTextAsync(path, report);
    Console.WriteLine($"Written to {Path.GetFullPath(path)}");
}

return 0;
