using System.Text.Json;
using System.Text.Json.Nodes;

namespace Evacuationd.Nova;

/// <summary>Nova's and Keystone's error bodies turned into their message.</summary>
internal static class NovaErrors
{
    /// <summary>
    /// Nova: <c>{"badRequest": {"code": 400, "message": "..."}}</c> (the key varies);
    /// Keystone: <c>{"error": {"message": "..."}}</c>; anything else: the text, shortened.
    /// </summary>
    public static string MessageOf(string body, int status)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject obj)
            {
                foreach (var (_, value) in obj)
                {
                    if (value is JsonObject inner && NovaJson.Str(inner["message"]) is { Length: > 0 } message)
                    {
                        return message;
                    }
                }
            }
        }
        catch (JsonException)
        {
        }
        var text = body.Trim();
        if (text.Length == 0)
        {
            return $"HTTP {status} without a body";
        }
        return text.Length > 300 ? text[..300] + "..." : text;
    }
}
