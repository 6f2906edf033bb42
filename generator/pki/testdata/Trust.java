// Trust connects with JSSE, as the AWS SDK in Nuvla's api does, to a TLS
// server on 127.0.0.1:PORT once per NAME, verifying the server's
// certificate against the JVM's truststore (-Djavax.net.ssl.trustStore)
// and NAME as the host name (HTTPS endpoint identification). It prints
// one line per name, "OK NAME PROTOCOL" or "FAIL NAME EXCEPTION: MESSAGE",
// and exits 1 if any failed.
//
// Usage: java Trust.java PORT NAME...
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

public class Trust {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        InetAddress loopback = InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
        SSLSocketFactory factory = (SSLSocketFactory) SSLSocketFactory.getDefault();
        boolean failed = false;
        for (int i = 1; i < args.length; i++) {
            String name = args[i];
            try (Socket plain = new Socket()) {
                plain.connect(new InetSocketAddress(loopback, port), 10000);
                plain.setSoTimeout(10000);
                // Layered on a socket to 127.0.0.1, so that NAME is
                // what is verified, whatever it resolves to.
                try (SSLSocket tls = (SSLSocket) factory.createSocket(plain, name, port, true)) {
                    SSLParameters params = tls.getSSLParameters();
                    params.setEndpointIdentificationAlgorithm("HTTPS");
                    tls.setSSLParameters(params);
                    tls.startHandshake();
                    BufferedReader in = new BufferedReader(new InputStreamReader(tls.getInputStream(), StandardCharsets.UTF_8));
                    String line = in.readLine();
                    if (!"hello".equals(line)) {
                        throw new IllegalStateException("the server said " + line);
                    }
                    System.out.println("OK " + name + " " + tls.getSession().getProtocol());
                }
            } catch (Exception e) {
                failed = true;
                System.out.println("FAIL " + name + " " + e.getClass().getName() + ": " + e.getMessage());
            }
        }
        System.exit(failed ? 1 : 0);
    }
}
