using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;

namespace Sagas.Api.Tests.Assistant;

/// <summary>Asks <c>/ai/ask</c> for an event stream and reads its events as they arrive.</summary>
internal static class EventStreamReader
{
    public static async Task<HttpResponseMessage> AskStreamingAsync(this HttpClient client, string prompt)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/ai/ask")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { prompt }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    public static async IAsyncEnumerable<(string Type, JsonElement Data)> EventsAsync(this HttpResponseMessage response)
    {
        await using var body = await response.Content.ReadAsStreamAsync();
        await foreach (var item in SseParser.Create(body).EnumerateAsync())
        {
            using var data = JsonDocument.Parse(item.Data);
            yield return (item.EventType, data.RootElement.Clone());
        }
    }

    public static async Task<List<(string Type, JsonElement Data)>> AllEventsAsync(this HttpResponseMessage response)
    {
        var events = new List<(string, JsonElement)>();
        await foreach (var e in response.EventsAsync())
            events.Add(e);
        return events;
    }
}
