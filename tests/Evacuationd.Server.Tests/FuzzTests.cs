using System.Text;
using Evacuationd.Contracts.V1;
using Evacuationd.Server.Tests.Support;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Health.V1;
using CoreRecordState = Evacuationd.Core.Records.RecordState;

namespace Evacuationd.Server.Tests;

/// <summary>
/// Bad input: thousands of random, malformed and oversized requests to every unary RPC while a
/// real evacuation runs. The daemon answers each with a status that names the problem, never
/// crashes, and the evacuation ends as if nothing happened (one evacuate call per instance).
/// </summary>
public sealed class FuzzTests
{
    private const int Seed = 20261123;
    private const int Workers = 8;
    private const int CallsPerWorker = 250;

    /// <summary>Statuses a daemon may answer to nonsense: each says what is wrong with the request or the state.</summary>
    private static readonly StatusCode[] Clear =
    [
        StatusCode.OK, StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.FailedPrecondition,
        StatusCode.OutOfRange, StatusCode.ResourceExhausted, StatusCode.AlreadyExists,
    ];

    [Fact]
    public async Task ThousandsOfRandomRequestsGetClearAnswersAndAConcurrentEvacuationIsUntouched()
    {
        // Releases of compute-01 (powered off: Nova refuses them) answer after 1 s, not 20.
        await using var t = await TestCloud.StartAsync(daemons: 2, instancesPerHost: 4, rebuild: TimeSpan.FromMilliseconds(500), hosts: 4,
            configure: e => e.ReleaseWait = TimeSpan.FromSeconds(1));
        var evacuated = t.Sim.ListInstances().Where(i => i.Host == "compute-01").Select(i => i.Id).ToList();
        t.Sim.PowerOff("compute-01");
        await new Fencing.FencingClient(t.Channel).ReportFencedAsync(new ReportFencedRequest { Host = "compute-01" });

        var methods = UnaryMethods().ToList();
        var answers = new System.Collections.Concurrent.ConcurrentDictionary<StatusCode, int>();
        var unclear = new System.Collections.Concurrent.ConcurrentBag<string>();
        // Several callers at once, each with its own seeded generator.
        await Parallel.ForEachAsync(Enumerable.Range(0, Workers), async (worker, _) =>
        {
            var random = new Random(Seed + worker);
            for (var i = 0; i < CallsPerWorker; i++)
            {
                var (service, method) = methods[random.Next(methods.Count)];
                var body = random.Next(10) == 0 ? Garbage(random) : RandomMessage(method.InputType, random, 0).ToByteArray();
                var status = await CallAsync(t, service, method, body);
                answers.AddOrUpdate(status.StatusCode, 1, (_, n) => n + 1);
                if (!Clear.Contains(status.StatusCode) && !IsUnparsable(status) || status.StatusCode != StatusCode.OK && string.IsNullOrWhiteSpace(status.Detail))
                {
                    unclear.Add($"{service.Name}.{method.Name}: {status.StatusCode} '{status.Detail}'");
                }
            }
        });
        try
        {
            await t.WaitForFencingEndAsync("compute-01", TimeSpan.FromSeconds(60));
        }
        catch (OperationCanceledException)
        {
            var snap = await t.Cloud.Store.ReadSnapshotAsync(CancellationToken.None);
            Assert.Fail("compute-01's fencing did not end:\n" + string.Join("\n", snap.Hosts.Select(h => $"{h.Value.Name} {h.Value.State} {h.Value.Reason}")
                .Concat(snap.Instances.Where(r => r.Value.SourceHost == "compute-01").Select(r => $"{r.Value.Id} {r.Value.State} {r.Value.Reason}"))));
        }

        Assert.True(unclear.IsEmpty, string.Join("\n", unclear.Distinct().Take(20)));
        Assert.True(answers.GetValueOrDefault(StatusCode.InvalidArgument) > 100, string.Join(", ", answers.OrderBy(a => a.Key)));
        var health = await new Health.HealthClient(t.Channel).CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        var records = (await t.Cloud.Store.ListInstancesAsync("compute-01", 1, CancellationToken.None)).Select(r => r.Value).ToList();
        Assert.Equal(evacuated.Order(StringComparer.Ordinal), records.Select(r => r.InstanceUuid).Order(StringComparer.Ordinal));
        Assert.All(records, r => Assert.Equal(CoreRecordState.Done, r.State));
        var stats = t.Sim.GetStats();
        Assert.All(evacuated, id => Assert.Equal(1, stats.EvacuateCalls[id]));
        Assert.Equal(0, stats.DuplicateEvacuations);
    }

    /// <summary>
    /// Bytes that are not a protobuf message: the framework answers before any handler runs
    /// (UNKNOWN), with the parser's reason.
    /// </summary>
    private static bool IsUnparsable(Status s) =>
        s.StatusCode == StatusCode.Unknown && s.Detail.Contains("InvalidProtocolBufferException", StringComparison.Ordinal);

    /// <summary>Every unary RPC except Hold (a global hold would legitimately stop the evacuation under test).</summary>
    private static IEnumerable<(ServiceDescriptor Service, MethodDescriptor Method)> UnaryMethods() =>
        new[] { Fencing.Descriptor, Operator.Descriptor, Agent.Descriptor }
            .SelectMany(s => s.Methods.Select(m => (s, m)))
            .Where(x => !x.m.IsServerStreaming && !x.m.IsClientStreaming && x.m.Name != "Hold");

    private static async Task<Status> CallAsync(TestCloud t, ServiceDescriptor service, MethodDescriptor method, byte[] body)
    {
        var raw = new Method<byte[], byte[]>(MethodType.Unary, service.FullName, method.Name, Bytes, Bytes);
        try
        {
            await t.Channel.CreateCallInvoker().AsyncUnaryCall(raw, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), body);
            return Status.DefaultSuccess;
        }
        catch (RpcException e)
        {
            return e.Status;
        }
    }

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    private static byte[] Garbage(Random random)
    {
        var bytes = new byte[random.Next(1, 300)];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// Host names: the one under evacuation (every call on it must leave its evacuation alone),
    /// unknown and invalid ones. No other real host: fencing one would legitimately evacuate
    /// some of compute-01's instances a second time.
    /// </summary>
    private static readonly string[] Hosts = ["compute-01", "compute-99", "COMPUTE-01", "compute 01", "../etc/passwd", "compute-01:1", "-", "a.b.c"];

    private static IMessage RandomMessage(MessageDescriptor type, Random random, int depth)
    {
        var message = type.Parser.ParseFrom(ByteString.Empty);
        foreach (var field in type.Fields.InFieldNumberOrder())
        {
            if (random.Next(3) == 0)
            {
                continue; // left empty
            }
            if (field.IsRepeated)
            {
                var list = (System.Collections.IList)field.Accessor.GetValue(message);
                for (var n = random.Next(0, 4); n > 0; n--)
                {
                    if (RandomValue(field, random, depth) is { } v)
                    {
                        list.Add(v);
                    }
                }
            }
            else if (!field.IsMap && RandomValue(field, random, depth) is { } value)
            {
                field.Accessor.SetValue(message, value);
            }
        }
        return message;
    }

    private static object? RandomValue(FieldDescriptor field, Random random, int depth) => field.FieldType switch
    {
        FieldType.String => RandomString(field, random),
        FieldType.Bool => random.Next(2) == 0,
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => random.Next(5) switch { 0 => int.MinValue, 1 => -1, 2 => int.MaxValue, _ => random.Next(0, 1000) },
        FieldType.UInt32 or FieldType.Fixed32 => random.Next(3) switch { 0 => uint.MaxValue, _ => (uint)random.Next(0, 1000) },
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => random.Next(4) switch { 0 => long.MinValue, 1 => long.MaxValue, 2 => -1L, _ => (long)random.Next(0, 100) },
        FieldType.UInt64 or FieldType.Fixed64 => random.Next(3) switch { 0 => ulong.MaxValue, _ => (ulong)random.Next(0, 100) },
        FieldType.Double => random.Next(3) switch { 0 => double.NaN, 1 => -1e300, _ => random.NextDouble() },
        FieldType.Float => (float)random.NextDouble(),
        FieldType.Enum => random.Next(4) == 0 ? 999 : field.EnumType.Values[random.Next(field.EnumType.Values.Count)].Number,
        FieldType.Bytes => ByteString.CopyFrom(Garbage(random)),
        FieldType.Message when depth < 3 => RandomMessage(field.MessageType, random, depth + 1),
        _ => null,
    };

    private static Guid RandomGuid(Random random)
    {
        var bytes = new byte[16];
        random.NextBytes(bytes);
        return new Guid(bytes);
    }

    private static string RandomString(FieldDescriptor field, Random random)
    {
        var hostish = field.Name.Contains("host", StringComparison.Ordinal);
        return random.Next(8) switch
        {
            0 => "",
            1 => new string('x', random.Next(10) == 0 ? 1_100_000 : 70_000), // over the 1 MB limit, or just long
            2 => "\u0000\u202e\ud83d\ude00 \n\t",
            3 => RandomGuid(random).ToString(),
            _ when hostish => Hosts[random.Next(Hosts.Length)],
            4 => "compute-01:1:" + RandomGuid(random).ToString("N")[..8],
            _ => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(new string((char)random.Next(32, 127), random.Next(1, 40)))),
        };
    }
}
