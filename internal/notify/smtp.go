package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"time"
)

// Mailer hands one message to a mail server. A nil error means the server
// accepted the DATA with 250: the message is sent.
type Mailer interface {
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// SMTP sends through a relay with net/smtp: STARTTLS when the server offers
// it, PLAIN authentication when User is set (net/smtp refuses PLAIN over an
// unencrypted connection except to localhost).
type SMTP struct {
	Addr     string // host:port
	User     string
	Password string
	// Helo is the name given in EHLO (default "localhost").
	Helo string
	// TLS overrides the TLS configuration of STARTTLS (tests, private CAs).
	TLS *tls.Config
	// RequireTLS refuses to send when the server does not offer STARTTLS.
	RequireTLS bool
	// Timeout bounds one whole exchange (default 30 s).
	Timeout time.Duration
}

// Send delivers msg over one SMTP session.
func (s *SMTP) Send(ctx context.Context, from string, to []string, msg []byte) (err error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("smtp address %q: %w", s.Addr, err)
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	helo := s.Helo
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := s.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	} else if s.RequireTLS {
		return errors.New("the SMTP server does not offer STARTTLS")
	}
	if s.User != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("the SMTP server does not offer AUTH")
		}
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Password, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		_ = w.Close()
		return err
	}
	// Close reads the server's reply to the end of DATA: nil means 250.
	if err := w.Close(); err != nil {
		return err
	}
	_ = c.Quit()
	return nil
}
