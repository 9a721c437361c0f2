using System.Text;
using R1Sharp.Training.Logging;

namespace R1Sharp.Training.Tests.Logging;

public class Crc32CTests
{
    [Fact]
    public void Check_value_of_the_CRC_catalogue()
    {
        // CRC-32C "check" value: the CRC of the ASCII digits 123456789 (RFC 3720 / iSCSI; Williams' CRC catalogue).
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void RFC_3720_appendix_B4_test_vectors()
    {
        // RFC 3720 §B.4 lists the CRC bytes in transmission order (little-endian): "aa 36 91 8a" = 0x8A9136AA.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
        Assert.Equal(0x113FDB5Cu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray()));
    }

    [Fact]
    public void Empty_input_and_the_TFRecord_mask()
    {
        Assert.Equal(0u, Crc32C.Compute([]));
        // masked = ((crc >> 15) | (crc << 17)) + 0xA282EAD8, computed by hand for two values.
        Assert.Equal(0xA282EAD8u, Crc32C.Mask(0));
        // 0xE3069283: >> 15 = 0x0001C60D, << 17 = 0x25060000 (mod 2^32), or = 0x2507C60D, + 0xA282EAD8 = 0xC78AB0E5.
        Assert.Equal(0xC78AB0E5u, Crc32C.Mask(0xE3069283));
    }
}
