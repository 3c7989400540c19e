-- Login throttling per (account, client address) (src/lib/server/auth.ts, login()). Each sign-in counts the failures
-- of its own account from its own address since that pair's last success: under a distributed attack on one account
-- the rows of that user name come from thousands of addresses, and this index finds the pair's rows alone.
-- Attempts still being checked are recorded as reason 'checking' and refusals while throttled as 'throttled'.
CREATE INDEX login_attempts_user_ip_idx ON login_attempts (username, ip, at DESC);
