using System.Text.Json;
using System.Text.Json.Serialization;
using Evacuationd.Core.Records;
using Google.Protobuf;

namespace Evacuationd.Etcd;

/// <summary>Records as stored in etcd: UTF-8 JSON, enums by name, deterministic for equal values.</summary>
internal static class RecordCodec
{
    public static ByteString Encode(HostRecord r) => ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(r, RecordJson.Default.HostRecord));

    public static ByteString Encode(InstanceRecord r) => ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(r, RecordJson.Default.InstanceRecord));

    public static ByteString Encode(DaemonInfo d) => ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(d, RecordJson.Default.DaemonInfo));

    public static ByteString Encode(ControlState c) => ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(c, RecordJson.Default.ControlState));

    public static ByteString Encode(OperatorRequest r) => ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(r, RecordJson.Default.OperatorRequest));

    public static ControlState DecodeControl(ByteString value) => Decode(value, RecordJson.Default.ControlState);

    public static OperatorRequest DecodeRequest(ByteString value) => Decode(value, RecordJson.Default.OperatorRequest);

    public static HostRecord DecodeHost(ByteString value) => Decode(value, RecordJson.Default.HostRecord);

    public static InstanceRecord DecodeInstance(ByteString value) => Decode(value, RecordJson.Default.InstanceRecord);

    public static DaemonInfo DecodeDaemon(ByteString value) => Decode(value, RecordJson.Default.DaemonInfo);

    private static T Decode<T>(ByteString value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) =>
        JsonSerializer.Deserialize(value.Span, type) ?? throw new JsonException($"an empty {typeof(T).Name} in etcd");
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HostRecord))]
[JsonSerializable(typeof(InstanceRecord))]
[JsonSerializable(typeof(DaemonInfo))]
[JsonSerializable(typeof(ControlState))]
[JsonSerializable(typeof(OperatorRequest))]
internal sealed partial class RecordJson : JsonSerializerContext;
