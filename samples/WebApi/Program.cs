using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using TaskDispatch;
using WebApi;

// A minimal API over one dispatcher bound from appsettings.json: POST /jobs, GET /jobs/{id}, DELETE /jobs/{id}, /health.
// `dotnet run --project samples/WebApi` serves on http://localhost:5000; with --self-test it serves on a free loopback
// port, calls every endpoint once as a client would, prints what it saw, and exits (what CI runs).
var selfTest = args.Contains("--self-test");
var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args.Where(arg => arg != "--self-test").ToArray(),
    ContentRootPath = AppContext.BaseDirectory,
});
builder.WebHost.UseUrls(selfTest ? "http://127.0.0.1:0" : "http://localhost:5000");
builder.Services.AddTaskHandler<ReportJobHandler>();
builder.Services.AddTaskDispatch(builder.Configuration.GetSection("TaskDispatch"));
builder.Services.AddHealthChecks().AddTaskDispatch();

var app = builder.Build();

app.MapPost("/jobs", async (ReportJob job, ITaskDispatcher dispatcher, CancellationToken cancellationToken) =>
{
    if (job.Steps is < 1 or > 1_000 || job.StepMilliseconds is < 0 or > 60_000)
    {
        return Results.ValidationProblem(new Dictionary<string, string[]> { ["steps"] = ["1 to 1000 steps of 0 to 60000 ms each."] });
    }

    try
    {
        var handle = await dispatcher.SubmitAsync(job, new TaskOptions { Id = $"job-{Guid.NewGuid():N}", Priority = job.Priority }, cancellationToken);
        return Results.Accepted($"/jobs/{handle.Id}", JobView.Of(handle));
    }
    catch (TaskRejectedException exception)
    {
        return Results.Problem(exception.Message, statusCode: StatusCodes.Status503ServiceUnavailable);
    }
});

app.MapGet("/jobs/{id}", async (string id, ITaskDispatcher dispatcher, CancellationToken cancellationToken) =>
    await dispatcher.FindAsync(id, cancellationToken) is { } handle ? Results.Ok(JobView.Of(handle)) : Results.NotFound());

app.MapDelete("/jobs/{id}", async (string id, ITaskDispatcher dispatcher, CancellationToken cancellationToken) =>
    await dispatcher.FindAsync(id, cancellationToken) switch
    {
        null => Results.NotFound(),
        { IsFinished: true } ended => Results.Conflict(JobView.Of(ended)),
        var live => live.Cancel() || live.IsFinished ? Results.Accepted($"/jobs/{id}", JobView.Of(live)) : Results.Conflict(JobView.Of(live)),
    });

app.MapHealthChecks("/health", new HealthCheckOptions
{
    ResponseWriter = (context, report) =>
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsJsonAsync(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(entry => entry.Key, entry => new { status = entry.Value.Status.ToString(), entry.Value.Description, entry.Value.Data }),
        });
    },
});

if (!selfTest)
{
    app.Run();
    return 0;
}

await app.StartAsync();
var failures = await SelfTestAsync(new HttpClient { BaseAddress = new Uri(app.Urls.First()) });
await app.StopAsync();
return failures;

static async Task<int> SelfTestAsync(HttpClient client)
{
    var json = new JsonSerializerOptions(JsonSerializerDefaults.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };
    var problems = new List<string>();

    async Task<JobView> PostAsync(ReportJob job)
    {
        var response = await client.PostAsJsonAsync("/jobs", job, json);
        if (response.StatusCode != HttpStatusCode.Accepted || response.Headers.Location is null)
        {
            problems.Add($"POST /jobs answered {(int)response.StatusCode}");
        }

        return (await response.Content.ReadFromJsonAsync<JobView>(json))!;
    }

    async Task<JobView> WaitForEndAsync(string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var view = (await client.GetFromJsonAsync<JobView>($"/jobs/{id}", json))!;
            if (view.State.IsTerminal() || DateTime.UtcNow > deadline)
            {
                return view;
            }

            await Task.Delay(20);
        }
    }

    var completed = await WaitForEndAsync((await PostAsync(new ReportJob(Steps: 3, StepMilliseconds: 20))).Id);
    Console.WriteLine($"POST then GET: {completed.State}, progress {completed.Progress:P0}, result \"{completed.Result}\"");
    if (completed.State != TaskState.Completed || completed.Result is null || completed.Progress != 1)
    {
        problems.Add("the completed job");
    }

    var failed = await WaitForEndAsync((await PostAsync(new ReportJob(Steps: 1, StepMilliseconds: 1, Fail: true))).Id);
    Console.WriteLine($"failing job: {failed.State} after {failed.Attempts} attempt(s): {failed.Error}");
    if (failed.State != TaskState.Failed || failed.Attempts != 2 || failed.Error is null)
    {
        problems.Add("the failing job");
    }

    var slow = await PostAsync(new ReportJob(Steps: 1_000, StepMilliseconds: 50));
    var deleted = await client.DeleteAsync($"/jobs/{slow.Id}");
    var cancelled = await WaitForEndAsync(slow.Id);
    Console.WriteLine($"DELETE: {(int)deleted.StatusCode}, then {cancelled.State}");
    if (deleted.StatusCode != HttpStatusCode.Accepted || cancelled.State != TaskState.Cancelled)
    {
        problems.Add("the cancelled job");
    }

    var unknown = await client.GetAsync("/jobs/no-such-job");
    var health = await client.GetAsync("/health");
    var healthBody = await health.Content.ReadAsStringAsync();
    Console.WriteLine($"GET unknown job: {(int)unknown.StatusCode}; GET /health: {(int)health.StatusCode} {healthBody}");
    if (unknown.StatusCode != HttpStatusCode.NotFound || health.StatusCode != HttpStatusCode.OK || !healthBody.Contains("\"status\":\"Healthy\"", StringComparison.Ordinal))
    {
        problems.Add("GET of an unknown job or /health");
    }

    Console.WriteLine(problems.Count == 0
        ? "web api sample: POST, GET, DELETE and /health answered as expected"
        : $"web api sample: unexpected answers from {string.Join(", ", problems)}");
    return problems.Count;
}
