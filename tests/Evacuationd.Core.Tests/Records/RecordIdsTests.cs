using Evacuationd.Core.Records;

namespace Evacuationd.Core.Tests.Records;

public class RecordIdsTests
{
    private const string A = "3f2a9c1b-5d4e-4f00-9a1b-0c2d3e4f5a6b";
    private const string SharedPrefix1 = "aaaabbbb-0000-4000-8000-000000000001";
    private const string SharedPrefix2 = "AAAABBBB-0000-4000-8000-000000000002";

    [Fact]
    public void EvacuationIdIsHostAndGeneration()
    {
        Assert.Equal("compute-01:3", RecordIds.EvacuationId("compute-01", 3));
    }

    [Fact]
    public void ARecordIdIsHostGenerationAndTheWholeLowerCaseUuid()
    {
        Assert.Equal("compute-01:2:" + A, RecordIds.ForInstance("compute-01", 2, A));
        Assert.Equal("compute-01:1:" + SharedPrefix2.ToLowerInvariant(), RecordIds.ForInstance("compute-01", 1, SharedPrefix2));
    }

    [Fact]
    public void UuidsSharingAPrefixGetDifferentIdsWhateverElseIsPlanned()
    {
        // An id depends on its own instance only: no other server can change it between two plannings.
        Assert.NotEqual(RecordIds.ForInstance("compute-01", 1, SharedPrefix1), RecordIds.ForInstance("compute-01", 1, SharedPrefix2));
        Assert.Equal(RecordIds.ForInstance("compute-01", 1, A), RecordIds.ForInstance("compute-01", 1, A.ToUpperInvariant()));
    }

    [Fact]
    public void GenerationsOfTheSameHostGetDifferentIds()
    {
        Assert.NotEqual(RecordIds.ForInstance("compute-01", 1, A), RecordIds.ForInstance("compute-01", 2, A));
    }

    [Theory]
    [InlineData("compute-01:1:3f2a9c1b", "compute-01", 1)]
    [InlineData("node_7.rack-2.example.org:42:" + A, "node_7.rack-2.example.org", 42)]
    public void RecordIdsParseBackToHostAndGeneration(string id, string host, long generation)
    {
        Assert.True(RecordIds.TryParse(id, out var h, out var g));
        Assert.Equal((host, generation), (h, g));
    }

    [Theory]
    [InlineData("compute-01:0:3f2a9c1b")]
    [InlineData("compute-01:-1:3f2a9c1b")]
    [InlineData("compute-01:x:3f2a9c1b")]
    [InlineData("compute-01:1:")]
    [InlineData("compute-01:1")]
    [InlineData("bad host:1:3f2a9c1b")]
    [InlineData("compute-01:1:3f2a9c1b:extra")]
    [InlineData("")]
    public void MalformedRecordIdsDoNotParse(string id)
    {
        Assert.False(RecordIds.TryParse(id, out _, out _));
    }

    [Theory]
    [InlineData("compute-01")]
    [InlineData("c")]
    [InlineData("7")]
    [InlineData("node_7.rack-2.example.org")]
    [InlineData("UPPER-case")]
    public void ValidHostNames(string host)
    {
        Assert.True(RecordIds.IsValidHostName(host));
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("-compute")]
    [InlineData(".compute")]
    [InlineData("compute 01")]
    [InlineData("compute/01")]
    [InlineData("compute:01")]
    [InlineData("compute-01\t")]
    [InlineData("cömpute")]
    public void InvalidHostNames(string? host)
    {
        Assert.False(RecordIds.IsValidHostName(host));
    }

    [Fact]
    public void HostNamesAreAtMost255Characters()
    {
        Assert.True(RecordIds.IsValidHostName(new string('a', 255)));
        Assert.False(RecordIds.IsValidHostName(new string('a', 256)));
    }

    /// <summary>
    /// A report read from stdin easily keeps its line end. "compute-01\n" is not a Nova host
    /// name; accepting it would store a host record (and an etcd key) nobody can match.
    /// </summary>
    [Theory]
    [InlineData("compute-01\n")]
    [InlineData("compute-01\r\n")]
    public void HostNameWithATrailingLineEndIsInvalid(string host)
    {
        Assert.False(RecordIds.IsValidHostName(host));
    }
}
