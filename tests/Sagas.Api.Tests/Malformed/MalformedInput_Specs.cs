using System.Net;
using System.Text;
using Sagas.Api.Tests.Hosting;

namespace Sagas.Api.Tests.Malformed;

/// <summary>
/// Every route of the app, enumerated from its EndpointDataSource, gets the bad input of issue 9: every POST/PUT the
/// malformed bodies, every route with an id unknown and unparseable ids. The answer is always a 4xx ProblemDetails
/// (never a 5xx), and a normal request still succeeds afterwards. Inputs come from a seeded Random: a failure replays.
/// </summary>
public sealed class When_every_route_gets_malformed_input : IClassFixture<MalformedApi>
{
    private const int Seed = 20261123;
    private readonly MalformedApi _api;

    public When_every_route_gets_malformed_input(MalformedApi api) => _api = api;

    private IReadOnlyList<ApiRoute> Routes => ApiRoute.Of(_api.Services);

    /// <summary>The table: name, body, content type. Deterministic for a given seed.</summary>
    public static IReadOnlyList<(string Name, byte[]? Body, string? ContentType)> MalformedBodies()
    {
        var random = new Random(Seed);
        var bodies = new List<(string, byte[]?, string?)>();
        for (var i = 0; i < 3; i++)
        {
            var bytes = new byte[random.Next(1, 2048)];
            random.NextBytes(bytes);
            bodies.Add(($"random bytes #{i} ({bytes.Length} B)", bytes, "application/json"));
        }

        const string Complete = """{"name":"n","text":"t","prompt":"p","kind":"Completion","items":[{"input":"a"}],"targetHoleCodes":["A1"],"fileContent":"QUJD","brands":["b"],"projectId":"00000000-0000-0000-0000-000000000001"}""";
        for (var i = 0; i < 3; i++)
        {
            var cut = random.Next(1, Complete.Length - 1);
            bodies.Add(($"truncated JSON at {cut}", Answers.Utf8(Complete[..cut]), "application/json"));
        }

        // Each request type has at least one of these properties; each is of the wrong JSON kind for it.
        bodies.Add(("wrong types", Answers.Utf8("""{"name":17,"brands":"b","domains":3,"projectId":"not-a-guid","text":[],"active":"yes","platforms":4,"scope":{},"promptId":5,"force":"no","prompt":12,"kind":[],"model":{},"items":"x","expiresAt":true,"targetHoleCodes":"A1","fileContent":9,"urls":"u","reason":[1]}"""), "application/json"));
        bodies.Add(("nested wrong types", Answers.Utf8("""{"items":[{"input":{"deep":[1,2,3]}}],"targetHoleCodes":[1,2],"brands":[{}],"platforms":[[]]}"""), "application/json"));
        bodies.Add(("array root", Answers.Utf8("[1,2,3]"), "application/json"));
        bodies.Add(("number root", Answers.Utf8("42"), "application/json"));
        bodies.Add(("string root", Answers.Utf8("\"hello\""), "application/json"));
        bodies.Add(("null root", Answers.Utf8("null"), "application/json"));
        bodies.Add(("empty body", [], "application/json"));
        bodies.Add(("nesting beyond the reader's depth", Answers.Utf8(new string('[', 5000) + new string(']', 5000)), "application/json"));
        bodies.Add(("invalid UTF-8 in a string", [.. "{\"name\":\""u8, 0xC3, 0x28, 0xFF, .. "\"}"u8], "application/json"));
        bodies.Add(("huge fields", Answers.Utf8(HugeFields(random, MalformedApi.MaxJsonBodyBytes / 2 / 6)), "application/json"));
        bodies.Add(("very large body (the 413 limit itself: OversizedBody_Specs on Kestrel)", Answers.Utf8(HugeFields(random, MalformedApi.MaxJsonBodyBytes)), "application/json"));
        bodies.Add(("JSON sent as text/plain", Answers.Utf8("{}"), "text/plain"));
        bodies.Add(("JSON sent as XML", Answers.Utf8("<a/>"), "application/xml"));
        bodies.Add(("body without a content type", Answers.Utf8("{}"), null));
        bodies.Add(("malformed multipart", Answers.Utf8("--x\r\nContent-Disposition: form-data; name=\"files\"\r\n\r\nabc"), "multipart/form-data; boundary=x"));
        return bodies;
    }

    private static string HugeFields(Random random, int length)
    {
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
            text.Append((char)('a' + random.Next(26)));
        var value = text.ToString();
        return $$"""{"name":"{{value}}","text":"{{value}}","prompt":"{{value}}","instructions":"{{value}}","fileContent":"{{value}}","reason":"{{value}}"}""";
    }

    [Fact]
    public void Should_see_every_area_of_the_api_in_the_route_table()
    {
        var templates = Routes.Select(r => r.Template).ToList();

        // If enumeration silently found nothing, every other case here would pass vacuously.
        foreach (var area in new[] { "/api/llm-jobs", "/api/scan-sessions", "/api/projects", "/api/prompts", "/api/prompt-analyses/runs", "/api/schedules", "/ai/ask", "/ws" })
            Assert.Contains(templates, t => t.StartsWith(area, StringComparison.Ordinal));
        Assert.Contains(Routes, r => r.Method == "PUT" && r.HasGuidId);
    }

    [Fact]
    public async Task Should_answer_every_malformed_body_on_every_post_and_put_with_a_4xx_problem()
    {
        using var client = _api.CreateClient();
        var failures = new List<string>();
        var count = 0;
        foreach (var route in Routes.Where(r => r.Method is "POST" or "PUT"))
        {
            // An unknown id: whatever the body, nothing real is changed, and the answer is 400 or 404.
            var path = route.PathWith(Guid.NewGuid().ToString());
            foreach (var (name, body, contentType) in MalformedBodies())
            {
                count++;
                using var response = await client.SendAsync(Answers.Request(route.Method, path, body, contentType));
                // Routes that take no body ignore it, and an optional body may be absent or carry no known field
                // (an empty POST /api/prompt-analyses/runs runs everything): they may answer 2xx, never 5xx.
                var failure = route.AcceptsBody && !route.BodyOptional
                    ? await Answers.CheckAsync($"{route} [{name}]", response, Answers.ClientError, "a 4xx")
                    : await Answers.CheckAsync($"{route} [{name}]", response, Answers.NoServerError, "no 5xx");
                if (failure is not null)
                    failures.Add(failure);
            }
        }

        await AssertOthersStillServedAsync();
        Answers.AssertNone(failures, count);
    }

    [Fact]
    public async Task Should_answer_unknown_and_unparseable_ids_with_a_4xx_problem()
    {
        using var client = _api.CreateClient();
        var failures = new List<string>();
        var count = 0;
        var random = new Random(Seed);
        foreach (var route in Routes.Where(r => r.HasId))
        {
            var garbage = new string(Enumerable.Range(0, 12).Select(_ => (char)random.Next(33, 127)).ToArray());
            var ids = new (string Name, string Id, bool NotFound)[]
            {
                ("unknown id", Guid.NewGuid().ToString(), route.HasGuidId && route.Method is "GET" or "DELETE"),
                ("unparseable id", "not-a-guid", route.HasGuidId),
                ("number id", "12345", route.HasGuidId),
                ($"random id '{garbage}'", garbage, false),
                ("id with a path traversal", "../../etc/passwd", false),
            };
            foreach (var (name, id, notFound) in ids)
            {
                count++;
                var body = route.Method is "POST" or "PUT" ? Answers.Utf8("{}") : null;
                using var response = await client.SendAsync(Answers.Request(route.Method, route.PathWith(id), body));
                var failure = notFound
                    ? await Answers.CheckAsync($"{route} [{name}]", response, status => status == 404, "404")
                    : await Answers.CheckAsync($"{route} [{name}]", response, Answers.ClientError, "a 4xx");
                if (failure is not null)
                    failures.Add(failure);
            }
        }

        await AssertOthersStillServedAsync();
        Answers.AssertNone(failures, count);
    }

    [Fact]
    public async Task Should_serve_a_normal_client_in_the_middle_of_a_concurrent_barrage()
    {
        using var client = _api.CreateClient();
        var cases = Routes.Where(r => r.Method is "POST" or "PUT" && r.AcceptsBody && !r.BodyOptional)
            .SelectMany(route => MalformedBodies().Select(body => (Route: route, body.Name, body.Body, body.ContentType)))
            .ToList();
        using var gate = new SemaphoreSlim(8);
        var barrage = cases.Select(async c =>
        {
            await gate.WaitAsync();
            try
            {
                using var response = await client.SendAsync(Answers.Request(c.Route.Method, c.Route.PathWith(Guid.NewGuid().ToString()), c.Body, c.ContentType));
                return await Answers.CheckAsync($"{c.Route} [{c.Name}] (concurrent)", response, Answers.ClientError, "a 4xx");
            }
            finally
            {
                gate.Release();
            }
        }).ToList();

        // While the barrage is in flight, someone else's ordinary requests are answered normally.
        await AssertOthersStillServedAsync();
        var failures = (await Task.WhenAll(barrage)).OfType<string>().ToList();

        await AssertOthersStillServedAsync();
        Answers.AssertNone(failures, cases.Count);
    }

    [Fact]
    public async Task Should_keep_serving_others_while_a_slow_client_holds_a_request_open()
    {
        using var client = _api.CreateClient();
        var slowBody = new GatedStream(Answers.Utf8("""{"name":"slow","brands":["""), Answers.Utf8("\"b\""));
        var slowRequest = Answers.Request("POST", "/api/projects");
        slowRequest.Content = new StreamContent(slowBody);
        slowRequest.Content.Headers.ContentType = new("application/json");
        var slow = client.SendAsync(slowRequest);

        // The server is reading the first half and waits for the rest; meanwhile everyone else is served.
        await slowBody.FirstPartRead.WaitAsync(TimeSpan.FromSeconds(30));
        await AssertOthersStillServedAsync();
        Assert.False(slow.IsCompleted);

        // The client then gives up mid-document: a truncated body is a 400, not a hung or failed server.
        slowBody.Release();
        using var response = await slow;
        var failure = await Answers.CheckAsync("slow truncated POST /api/projects", response, status => status == 400, "400");
        Assert.Null(failure);
        slowRequest.Dispose();
    }

    private async Task AssertOthersStillServedAsync()
    {
        using var other = _api.CreateClient();
        foreach (var path in new[] { "/api/llm-jobs", "/api/projects", "/health/live" })
        {
            using var response = await other.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    /// <summary>A request body that sends its first part, then waits until released before sending the rest and ending.</summary>
    private sealed class GatedStream(byte[] first, byte[] rest) : Stream
    {
        private readonly TaskCompletionSource _firstRead = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _part;

        public Task FirstPartRead => _firstRead.Task;

        public void Release() => _released.TrySetResult();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            switch (_part++)
            {
                case 0:
                    first.CopyTo(buffer);
                    return first.Length;
                case 1:
                    _firstRead.TrySetResult();
                    await _released.Task.WaitAsync(cancellationToken);
                    rest.CopyTo(buffer);
                    return rest.Length;
                default:
                    return 0;
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>Outside development with API keys: every route that is not public refuses an anonymous call, bad input or not.</summary>
public sealed class When_every_route_is_called_without_credentials : IClassFixture<ProductionApi>
{
    private readonly ProductionApi _api;

    public When_every_route_is_called_without_credentials(ProductionApi api) => _api = api;

    [Fact]
    public async Task Should_answer_401_with_a_problem_on_every_protected_route()
    {
        using var client = _api.CreateClient();
        var routes = ApiRoute.Of(_api.Services).Where(r => !r.AllowsAnonymous).ToList();
        Assert.Contains(routes, r => r.Template.StartsWith("/api/projects", StringComparison.Ordinal));

        var random = new Random(20261123);
        var failures = new List<string>();
        var count = 0;
        foreach (var route in routes)
        {
            var garbage = new byte[64];
            random.NextBytes(garbage);
            foreach (var (name, body) in new (string, byte[]?)[] { ("no body", null), ("random bytes", garbage) })
            {
                count++;
                using var response = await client.SendAsync(Answers.Request(route.Method, route.PathWith(Guid.NewGuid().ToString()), body));
                var failure = await Answers.CheckAsync($"{route} [{name}]", response, status => status == 401, "401");
                if (failure is not null)
                    failures.Add(failure);
            }
        }

        using var probe = await client.GetAsync(new Uri("/health/live", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        Answers.AssertNone(failures, count);
    }
}
